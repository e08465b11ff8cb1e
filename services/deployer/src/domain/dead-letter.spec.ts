import { patchIdSchema, serviceNameSchema, type EventData, type IncidentId, type RecordedEvent } from '@antibody/contracts';
import { deciderSpec, testStream } from '@antibody/testing';
import { incidentFold } from '@antibody/domain';
import { decideDeadLetter, incidentStreamOf } from './dead-letter';

const INCIDENT = '8d3f4e5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a' as IncidentId;
const STREAM = `incident-${INCIDENT}`;
const SHOP = serviceNameSchema.parse('shop');

function incident() {
  const s = testStream(STREAM);
  const exception = { type: 'TypeError', value: 'x is undefined' };
  const opened = s.event('IncidentOpened', { incidentId: INCIDENT, service: SHOP, fingerprint: 'f', exception, firstSeen: '2026-01-01T00:00:00.000Z' });
  const sample = s.event('ErrorRecorded', { exception, frames: [], tags: {}, receivedAt: '2026-01-01T00:00:00.000Z' });
  return { s, given: [opened, sample], sample };
}

/** The bus gave up on `original` for `consumer`, recorded in `deadletter-<consumer>`. */
function deadLetter(consumer: string, original: RecordedEvent, reason = 'handler failed 5 times: Error: the mirror is missing a blob'): RecordedEvent<'MessageDeadLettered'> {
  const data: EventData<'MessageDeadLettered'> = { consumer, originalEventId: original.eventId, originalType: original.type, originalStreamId: original.streamId, reason, deliveryCount: 5 };
  return testStream(`deadletter-${consumer}`).event('MessageDeadLettered', data);
}

const spec = deciderSpec({ fold: incidentFold, decide: (command: RecordedEvent<'MessageDeadLettered'>, state) => decideDeadLetter(command, state) });

describe('an incident event a handler gave up on', () => {
  it('given an open incident, when the analyzer dead-letters its sample, then the incident is escalated at diagnosis naming the consumer, the event and the error', () => {
    const { given, sample } = incident();
    const letter = deadLetter('analyzer-diagnose', sample);
    spec
      .given(given)
      .when(letter)
      .then({
        kind: 'append',
        events: [
          {
            type: 'IncidentEscalated',
            data: {
              step: 'diagnosis',
              reason: `handler analyzer-diagnose failed on ErrorRecorded ${sample.eventId} until it was dead-lettered (deadletter-analyzer-diagnose): handler failed 5 times: Error: the mirror is missing a blob; the incident stops there and a person decides the next step`,
            },
          },
        ],
      });
  });

  it('names the step by the consumer\'s service, or else by the event it failed on', () => {
    const { s, given } = incident();
    const proposed = s.event('PatchProposed', { patchId: patchIdSchema.parse('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'), diff: 'd', files: ['a.js'], rationale: 'r', source: 'template', rank: 1, confidence: 0.5 });
    const step = (consumer: string) => {
      const decision = spec.given([...given, proposed]).when(deadLetter(consumer, proposed)).decision();
      return decision.kind === 'append' ? decision.events[0]?.data : undefined;
    };
    expect(step('validator-validate')).toMatchObject({ step: 'validation' });
    expect(step('deployer-fix-as-code')).toMatchObject({ step: 'rollout' });
    expect(step('patcher-learn')).toMatchObject({ step: 'patch' });
    expect(step('someone-else')).toMatchObject({ step: 'validation' });
  });

  it('given this dead letter already escalated the incident, when it is delivered again, then nothing more is appended', () => {
    const { s, given, sample } = incident();
    const letter = deadLetter('analyzer-diagnose', sample);
    const escalated = s.event('IncidentEscalated', { step: 'diagnosis', reason: 'handler analyzer-diagnose failed' }, { causationId: letter.eventId });
    spec.given([...given, escalated]).when(letter).then({ kind: 'ignore', because: `already escalated for dead letter ${letter.eventId}` });
  });

  it('given another dead letter escalated the incident before, then this one escalates it too, once each', () => {
    const { s, given, sample } = incident();
    const earlier = s.event('IncidentEscalated', { step: 'diagnosis', reason: 'handler analyzer-diagnose failed' }, { causationId: deadLetter('analyzer-diagnose', sample).eventId });
    spec.given([...given, earlier]).when(deadLetter('patcher-learn', sample)).thenMatches({ kind: 'append', events: [{ type: 'IncidentEscalated', data: { step: 'patch' } }] });
  });

  it('given the event set aside was itself an escalation, then it does not escalate again (the failing handler would get a new one forever)', () => {
    const { s, given } = incident();
    const escalation = s.event('IncidentEscalated', { step: 'patch', reason: 'no patch' });
    spec.given([...given, escalation]).when(deadLetter('deployer-notify-escalated', escalation)).thenMatches({ kind: 'ignore', because: expect.stringContaining('already stands escalated') });
  });

  it('given a resolved incident, a missing incident or a stream that is not an incident\'s, then nothing is appended', () => {
    const { s, given, sample } = incident();
    const resolved = s.event('IncidentResolved', { resolution: 'manual' });
    spec.given([...given, resolved]).when(deadLetter('patcher-learn', resolved)).thenMatches({ kind: 'ignore', because: expect.stringContaining('resolved') });
    spec.given([]).when(deadLetter('analyzer-diagnose', sample)).thenMatches({ kind: 'ignore', because: `${STREAM} holds no incident` });
    const other = testStream('service-shop').event('ServiceDeregistered', { name: SHOP, reason: 'gone' });
    const letter = deadLetter('deployer-x', other);
    expect(incidentStreamOf(letter)).toBeUndefined();
    spec.given(given).when(letter).thenMatches({ kind: 'ignore', because: 'service-shop is not an incident stream' });
  });

  it('keeps a long error within the contract and still says what happens next', () => {
    const { given, sample } = incident();
    const decision = spec.given(given).when(deadLetter('analyzer-diagnose', sample, `Error: ${'y'.repeat(5000)}`)).decision();
    expect(decision).toMatchObject({ kind: 'append', events: [{ data: { reason: expect.stringMatching(/y; the incident stops there and a person decides the next step$/) } }] });
    const escalation = decision.kind === 'append' ? decision.events[0] : undefined;
    expect(escalation?.type === 'IncidentEscalated' ? escalation.data.reason.length : Infinity).toBeLessThanOrEqual(2000);
  });
});
