import {
  decide,
  evolve,
  initialJudgeState,
  DEFAULT_JUDGE_CONFIG,
  JudgeError,
  type ArmCounts,
  type CountsSnapshot,
  type JudgeCommand,
  type JudgeConfig,
  type JudgeEvent,
  type JudgeState,
} from './judge';

const MIN = 60_000;
const config: JudgeConfig = { ...DEFAULT_JUDGE_CONFIG, stages: [5, 25, 100], minDwellMs: 5 * MIN, minCanaryRequests: 200, stageDeadlineMs: 20 * MIN };

const arm = (requests: number, errors = 0, slow = 0): ArmCounts => ({ requests, errors, slow });
const counts = (canary: ArmCounts, stable: ArmCounts): CountsSnapshot => ({ canary, stable });
const ZERO = counts(arm(0), arm(0));

/** given(events).when(command).then(events): the judge as a decider specification. */
function given(...history: JudgeEvent[]) {
  const state = history.reduce<JudgeState>(evolve, initialJudgeState());
  return {
    when: (command: JudgeCommand, cfg: JudgeConfig = config) => ({
      then: (expected: (events: JudgeEvent[]) => void) => expected(decide(command, state, cfg)),
      thenThrows: (code: string) => {
        try {
          decide(command, state, cfg);
        } catch (error) {
          expect(error).toBeInstanceOf(JudgeError);
          expect((error as JudgeError).code).toBe(code);
          return;
        }
        throw new Error('expected the judge to refuse');
      },
    }),
  };
}

const started: JudgeEvent = { type: 'RolloutStarted', at: 0, stages: config.stages, snapshot: ZERO };

describe('canary judge', () => {
  it('starts a rollout at the first stage', () => {
    given().when({ type: 'Start', at: 0, snapshot: ZERO }).then((events) => {
      expect(events).toEqual([started]);
    });
  });

  it('refuses an invalid stage plan', () => {
    given().when({ type: 'Start', at: 0, snapshot: ZERO }, { ...config, stages: [5, 50] }).thenThrows('INVALID_CONFIG');
    given().when({ type: 'Start', at: 0, snapshot: ZERO }, { ...config, stages: [25, 5, 100] }).thenThrows('INVALID_CONFIG');
  });

  it('holds before the minimum dwell even with plenty of healthy traffic', () => {
    given(started).when({ type: 'Observe', at: 4 * MIN, snapshot: counts(arm(1200, 12), arm(22800, 228)) }).then((events) => {
      expect(events).toEqual([]);
    });
  });

  it('advances after the dwell with enough exposure, carrying the evidence', () => {
    given(started).when({ type: 'Observe', at: 5 * MIN, snapshot: counts(arm(1500, 15), arm(28500, 285)) }).then((events) => {
      expect(events).toHaveLength(1);
      const [advanced] = events;
      if (advanced?.type !== 'StageAdvanced') throw new Error('expected StageAdvanced');
      expect(advanced.from).toBe(5);
      expect(advanced.to).toBe(25);
      expect(advanced.evidence.canary).toEqual(arm(1500, 15));
      expect(advanced.evidence.errorRate.canary).toBeCloseTo(0.01, 9);
      expect(advanced.evidence.logThreshold).toBeCloseTo(Math.log(20), 9);
      expect(advanced.evidence.logEValue.combined).toBeLessThan(advanced.evidence.logThreshold);
    });
  });

  it('never promotes on silence: no exposure by the deadline reverts', () => {
    given(started).when({ type: 'Observe', at: 10 * MIN, snapshot: counts(arm(40), arm(760)) }).then((events) => {
      expect(events).toEqual([]);
    });
    given(started).when({ type: 'Observe', at: 20 * MIN, snapshot: counts(arm(40), arm(760)) }).then((events) => {
      expect(events.map((e) => e.type)).toEqual(['RolledBack']);
      expect(events[0]?.type === 'RolledBack' && events[0].cause).toBe('no-evidence-by-deadline');
    });
  });

  it('rolls back a canary whose errors exceed its traffic share, with the trace', () => {
    given(started).when({ type: 'Observe', at: 2 * MIN, snapshot: counts(arm(600, 30), arm(11400, 114)) }).then((events) => {
      const [rolledBack] = events;
      if (rolledBack?.type !== 'RolledBack') throw new Error('expected RolledBack');
      expect(rolledBack.cause).toBe('error-regression');
      expect(rolledBack.stage).toBe(5);
      expect(rolledBack.evidence.logEValue.combined).toBeGreaterThanOrEqual(rolledBack.evidence.logThreshold);
      expect(rolledBack.trace).toHaveLength(1);
    });
  });

  it('rolls back at once above the hard error-rate ceiling, before any dwell', () => {
    given(started).when({ type: 'Observe', at: 10_000, snapshot: counts(arm(25, 20), arm(475, 5)) }).then((events) => {
      expect(events[0]?.type === 'RolledBack' && events[0].cause).toBe('error-ceiling');
    });
  });

  it('rolls back on slow requests above the share stable would predict', () => {
    given(started).when({ type: 'Observe', at: 3 * MIN, snapshot: counts(arm(900, 9, 150), arm(17100, 171, 855)) }).then((events) => {
      expect(events[0]?.type === 'RolledBack' && events[0].cause).toBe('latency-regression');
    });
  });

  it('ignores slow requests when latency is not judged', () => {
    given(started)
      .when({ type: 'Observe', at: 3 * MIN, snapshot: counts(arm(900, 9, 150), arm(17100, 171, 855)) }, { ...config, judgeLatency: false })
      .then((events) => expect(events).toEqual([]));
  });

  it('calls a sample-ratio mismatch inconclusive: no promotion, revert at the deadline', () => {
    const skewed = counts(arm(3000, 30), arm(17000, 170));
    given(started).when({ type: 'Observe', at: 6 * MIN, snapshot: skewed }).then((events) => expect(events).toEqual([]));
    given(started).when({ type: 'Observe', at: 20 * MIN, snapshot: skewed }).then((events) => {
      expect(events[0]?.type === 'RolledBack' && events[0].cause).toBe('inconclusive-by-deadline');
    });
  });

  it('multiplies e-values across stages: evidence of a past stage is kept', () => {
    const s1 = counts(arm(1500, 22), arm(28500, 285));
    const firstStage = decide({ type: 'Observe', at: 5 * MIN, snapshot: s1 }, evolve(initialJudgeState(), started), config);
    const advanced = firstStage[0];
    if (advanced?.type !== 'StageAdvanced') throw new Error('expected StageAdvanced');
    expect(advanced.evidence.logEValue.errors).toBeGreaterThan(0);
    given(started, advanced).when({ type: 'Observe', at: 6 * MIN, snapshot: s1 }).then((events) => {
      expect(events).toEqual([]);
    });
    const state = [started, advanced].reduce<JudgeState>(evolve, initialJudgeState());
    expect(state.closedLogE.errors).toBeCloseTo(advanced.evidence.logEValue.errors, 12);
  });

  it('completes the rollout when it advances into 100 %', () => {
    const first: JudgeEvent = { type: 'StageAdvanced', at: 5 * MIN, from: 5, to: 25, snapshot: counts(arm(1500, 15), arm(28500, 285)), evidence: decideEvidence() };
    given(started, first).when({ type: 'Observe', at: 10 * MIN, snapshot: counts(arm(9000, 90), arm(51000, 510)) }).then((events) => {
      expect(events.map((e) => e.type)).toEqual(['StageAdvanced', 'RolloutCompleted']);
      expect(events[0]?.type === 'StageAdvanced' && events[0].to).toBe(100);
      expect(events[1]?.type === 'RolloutCompleted' && events[1].trace).toHaveLength(2);
    });
  });

  it('refuses to observe after the rollout ended, and counts that go backwards', () => {
    const rolledBack = decide({ type: 'Abort', at: 1, snapshot: ZERO, reason: 'operator' }, evolve(initialJudgeState(), started), config)[0] as JudgeEvent;
    given(started, rolledBack).when({ type: 'Observe', at: 2, snapshot: ZERO }).thenThrows('FINISHED');
    given().when({ type: 'Observe', at: 2, snapshot: ZERO }).thenThrows('NOT_STARTED');
    const s1 = counts(arm(1500, 15), arm(28500, 285));
    const adv = decide({ type: 'Observe', at: 5 * MIN, snapshot: s1 }, evolve(initialJudgeState(), started), config)[0] as JudgeEvent;
    given(started, adv).when({ type: 'Observe', at: 6 * MIN, snapshot: counts(arm(10), arm(10)) }).thenThrows('COUNTS_WENT_BACKWARDS');
  });
});

function decideEvidence() {
  const events = decide({ type: 'Observe', at: 5 * MIN, snapshot: counts(arm(1500, 15), arm(28500, 285)) }, evolve(initialJudgeState(), started), config);
  const e = events[0];
  if (e?.type !== 'StageAdvanced') throw new Error('expected StageAdvanced');
  return e.evidence;
}
