import { firstSampleId, isDiagnosed } from './diagnosis';

describe('which sample an incident is diagnosed from', () => {
  const e = (type: string, eventId = type) => ({ type, eventId });

  it('given several samples, only the first is diagnosed', () => {
    expect(firstSampleId([e('IncidentOpened'), e('ErrorRecorded', 'a'), e('ErrorRecorded', 'b')])).toBe('a');
  });

  it('given a diagnosis, the incident is diagnosed until it is reopened; then the next sample counts', () => {
    const events = [e('IncidentOpened'), e('ErrorRecorded', 'a'), e('DiagnosisMade')];
    expect(isDiagnosed(events)).toBe(true);
    const reopened = [...events, e('IncidentReopened'), e('ErrorRecorded', 'c')];
    expect(isDiagnosed(reopened)).toBe(false);
    expect(firstSampleId(reopened)).toBe('c');
  });
});
