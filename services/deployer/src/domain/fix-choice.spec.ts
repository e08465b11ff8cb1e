import { chosenFix, fixSettledBy, type ChoiceEvent } from './fix-choice';

const proposed = (patchId: string, rank: number): ChoiceEvent => ({ type: 'PatchProposed', data: { patchId, rank } });
const validated = (patchId: string): ChoiceEvent => ({ type: 'PatchValidated', data: { patchId } });
const rejected = (patchId: string): ChoiceEvent => ({ type: 'PatchRejected', data: { patchId } });
const opened: ChoiceEvent = { type: 'IncidentOpened', data: {} };
const candidates = [opened, proposed('a', 1), proposed('b', 2), proposed('c', 3)];

describe('the fix of a diagnosis round', () => {
  it('given a worse candidate validated first, when a better one is still being validated, then nothing is chosen yet', () => {
    expect(chosenFix([...candidates, validated('c')])).toBeUndefined();
  });

  it('given the better candidates rejected, when the worse one was validated earlier, then the rejection settles on it', () => {
    const events = [...candidates, validated('c'), rejected('a'), rejected('b')];
    expect(chosenFix(events)).toBe(events[4]);
    expect(fixSettledBy(events)).toBe(events[4]);
    expect(fixSettledBy(events.slice(0, -1))).toBeUndefined();
  });

  it('settles on the best-ranked validated candidate whatever the verdict order, and only once', () => {
    const orders = [
      [rejected('a'), validated('c'), validated('b')],
      [validated('b'), validated('c'), rejected('a')],
      [validated('c'), validated('b'), rejected('a')],
    ];
    for (const verdicts of orders) {
      const events = [...candidates, ...verdicts];
      const settled = events.map((_, i) => fixSettledBy(events.slice(0, i + 1))).filter((e) => e !== undefined);
      expect(settled).toHaveLength(1);
      expect(settled[0]).toEqual(validated('b'));
    }
  });

  it('chooses nothing when every candidate was rejected or the incident already ended', () => {
    expect(chosenFix([...candidates, rejected('a'), rejected('b'), rejected('c')])).toBeUndefined();
    expect(chosenFix([...candidates, validated('a'), { type: 'IncidentEscalated', data: {} }])).toBeUndefined();
  });

  it('starts a new round after a rollback sends the incident back to diagnosis', () => {
    const first = [...candidates, validated('a'), { type: 'RolledBack', data: { patchId: 'a' } }, { type: 'DiagnosisRequested', data: {} }];
    expect(chosenFix(first)).toBeUndefined();
    const second = [...first, proposed('d', 1), validated('d')];
    expect(fixSettledBy(second)).toEqual(validated('d'));
  });
});
