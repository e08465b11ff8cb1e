import { decidePatternOutcome, evolvePattern, foldPatternLibrary, nextEstimate, PATTERN_EMA_ALPHA, type PatternState } from './pattern';

const learned = { type: 'PatternLearned' as const, data: { patternId: 'p1', errorClass: 'TypeError:reduce-empty-array', template: {}, source: 'incident' } };

describe('pattern library', () => {
  it('uses an EMA with alpha 0.1', () => {
    expect(PATTERN_EMA_ALPHA).toBe(0.1);
    expect(nextEstimate(1, false)).toBeCloseTo(0.9);
    expect(nextEstimate(0.5, true)).toBeCloseTo(0.55);
  });

  it('given a learned pattern, when outcomes are recorded, then counts and the estimate follow', () => {
    let state = evolvePattern(undefined, learned) as PatternState;
    for (const success of [true, false, true]) {
      const [outcome] = decidePatternOutcome(state, { incidentId: 'i', success });
      state = evolvePattern(state, outcome!) as PatternState;
    }
    expect(state).toMatchObject({ uses: 3, successes: 2, failures: 1, retired: false });
    expect(state.estimate).toBeCloseTo(nextEstimate(nextEstimate(nextEstimate(1, true), false), true));
  });

  it('retires a pattern whose estimate is below 0.5 after more than 10 uses, not before', () => {
    let state = evolvePattern(undefined, learned) as PatternState;
    const events = [];
    for (let i = 0; i < 11; i++) {
      const decided = decidePatternOutcome(state, { incidentId: `i${i}`, success: false });
      events.push(...decided);
      for (const e of decided) state = evolvePattern(state, e) as PatternState;
      if (i < 10) expect(state.retired).toBe(false);
    }
    expect(state.estimate).toBeLessThan(0.5);
    expect(state.retired).toBe(true);
    expect(events[events.length - 1]?.type).toBe('PatternRetired');
    expect(decidePatternOutcome(state, { incidentId: 'x', success: true })).toEqual([]);
    // The library is a fold of the events: rebuilding from them gives the same state.
    expect(foldPatternLibrary([learned, { type: 'Other', data: {} }, ...events]).get('p1')).toEqual(state);
  });
});
