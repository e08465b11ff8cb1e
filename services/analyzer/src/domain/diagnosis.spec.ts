import { awaitsFirstDiagnosis, firstSampleId, isDiagnosed } from './diagnosis';

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

  it('given later samples and occurrence counts arrived after the first sample, the incident still waits for the same diagnosis; once one is recorded, or after a reopening, it no longer does', () => {
    const waiting = [e('IncidentOpened'), e('ErrorRecorded', 'a'), e('OccurrencesCounted'), e('ErrorRecorded', 'b')];
    expect(awaitsFirstDiagnosis(waiting, 'a')).toBe(true);
    expect(awaitsFirstDiagnosis(waiting, 'b')).toBe(false);
    expect(awaitsFirstDiagnosis([...waiting, e('DiagnosisMade')], 'a')).toBe(false);
    expect(awaitsFirstDiagnosis([...waiting, e('DiagnosisFailed'), e('IncidentEscalated')], 'a')).toBe(false);
    expect(awaitsFirstDiagnosis([...waiting, e('DiagnosisMade'), e('IncidentResolved'), e('IncidentReopened'), e('ErrorRecorded', 'c')], 'a')).toBe(false);
  });
});
