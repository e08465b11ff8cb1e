import { checkDrill, type DrillEvent, type Effects } from './checks';

const NONE: Effects = { fixCommits: new Map(), canaryStarts: [], notices: [] };
let version = 0;
const event = (streamId: string, type: string, data: Record<string, unknown> = {}): DrillEvent => ({ type, streamId, streamVersion: version++, data });

/** A healed incident of `service`: opened, recorded, diagnosed, patched, validated, committed, rolled out. */
function healed(service: string, id = service): DrillEvent[] {
  const s = `incident-${id}`;
  return [
    event(s, 'IncidentOpened', { service, fingerprint: 'f1' }),
    event(s, 'ErrorRecorded'),
    event(s, 'DiagnosisMade'),
    event(s, 'PatchProposed', { patchId: 'p1' }),
    event(s, 'PatchValidated', { patchId: 'p1', tests: [], reproduction: { status: 'reproduced' } }),
    event(s, 'FixCommitted', { patchId: 'p1' }),
    event(s, 'RolloutStarted', { patchId: 'p1' }),
    event(s, 'StageAdvanced', { patchId: 'p1', stage: 10 }),
    event(s, 'RolloutCompleted', { patchId: 'p1', release: 'r' }),
    event(s, 'IncidentResolved'),
  ];
}

describe('checkDrill', () => {
  it('finds nothing wrong in a healed incident whose one accepted report was recorded', () => {
    const result = checkDrill({ events: healed('shop-01'), reports: [{ service: 'shop-01', eventId: 'e1' }], services: ['shop-01'], effects: { ...NONE, fixCommits: new Map([['shop-01', 1]]), canaryStarts: [{ service: 'shop-01', release: 'r' }] } });
    expect(result).toMatchObject({ lost: [], doubled: [], stuck: [] });
    expect(result.endStates.get('shop-01')).toBe('healed');
  });

  it('counts an accepted report that never became an incident, or an ErrorRecorded, as lost', () => {
    const opened = [event('incident-b', 'IncidentOpened', { service: 'shop-02', fingerprint: 'f1' })];
    const result = checkDrill({ events: opened, reports: [{ service: 'shop-01', eventId: 'e1' }, { service: 'shop-02', eventId: 'e2' }], services: ['shop-01', 'shop-02'], effects: NONE });
    expect(result.lost.map((f) => f.subject)).toEqual(['shop-01', 'shop-02']);
    expect(result.endStates.get('shop-01')).toBe('missing');
  });

  it('counts an incident still waiting for a step as stuck, naming the step', () => {
    const events = healed('shop-01').slice(0, 4);
    const result = checkDrill({ events, reports: [{ service: 'shop-01', eventId: 'e1' }], services: ['shop-01'], effects: NONE });
    expect(result.stuck).toEqual([{ what: 'incident', subject: 'incident-shop-01', detail: 'shop-01: still waiting for PatchValidated / PatchRejected / PatchUnproven (validator)' }]);
  });

  it('counts doubled events: a second incident for one fingerprint, a second verdict, commit or stage of one patch, a second diagnosis in a round', () => {
    const events = [
      ...healed('shop-01'),
      event('incident-shop-01', 'PatchRejected', { patchId: 'p1' }),
      event('incident-shop-01', 'FixCommitted', { patchId: 'p1' }),
      event('incident-shop-01', 'StageAdvanced', { patchId: 'p1', stage: 10 }),
      event('incident-shop-01', 'DiagnosisMade'),
      event('incident-again', 'IncidentOpened', { service: 'shop-01', fingerprint: 'f1' }),
    ];
    const result = checkDrill({ events, reports: [{ service: 'shop-01', eventId: 'e1' }], services: ['shop-01'], effects: NONE });
    expect(result.doubled.map((f) => f.what).sort()).toEqual(['FixCommitted', 'IncidentOpened', 'StageAdvanced', 'diagnosis', 'verdict']);
  });

  it('does not count a second diagnosis in the round after a rollback as doubled', () => {
    const s = 'incident-shop-01';
    const events = [event(s, 'IncidentOpened', { service: 'shop-01', fingerprint: 'f1' }), event(s, 'ErrorRecorded'), event(s, 'DiagnosisMade'), event(s, 'DiagnosisRequested'), event(s, 'DiagnosisMade'), event(s, 'PatchFailed'), event(s, 'IncidentEscalated', { step: 'patch' })];
    const result = checkDrill({ events, reports: [{ service: 'shop-01', eventId: 'e1' }], services: ['shop-01'], effects: NONE });
    expect(result.doubled).toEqual([]);
    expect(result.endStates.get('shop-01')).toBe('stopped: escalated at patch');
  });

  it('counts an ErrorRecorded more than reports accepted, and effects seen twice, as doubled', () => {
    const events = [...healed('shop-01'), event('incident-shop-01', 'ErrorRecorded')];
    const effects: Effects = {
      fixCommits: new Map([['shop-01', 2]]),
      canaryStarts: [{ service: 'shop-01', release: 'r' }, { service: 'shop-01', release: 'r' }],
      notices: [{ deliveryId: 'd1', incidentId: 'i', kind: 'rolled-out' }, { deliveryId: 'd1', incidentId: 'i', kind: 'rolled-out' }, { deliveryId: 'd2', incidentId: 'i', kind: 'rolled-out' }],
    };
    const result = checkDrill({ events, reports: [{ service: 'shop-01', eventId: 'e1' }], services: ['shop-01'], effects });
    expect(result.doubled.map((f) => f.what).sort()).toEqual(['ErrorRecorded', 'canary.start', 'fix commit', 'notice', 'notice']);
  });
});
