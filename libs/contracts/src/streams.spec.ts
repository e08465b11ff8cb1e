import { EventContractError } from './errors';
import { categoryOf, streamIdFor, subjectFor, SUBJECT_PREFIX } from './streams';

describe('categoryOf', () => {
  it('is the text before the first dash', () => {
    expect(categoryOf('incident-4f2a')).toBe('incident');
    expect(categoryOf('service-shop-api')).toBe('service');
    expect(categoryOf('incident-3f1c2a9e-8b7d-4c6e-9a51-2d4f6b8e0c13')).toBe('incident');
  });

  it('is the whole id when there is no dash', () => {
    expect(categoryOf('checkpoints')).toBe('checkpoints');
    expect(categoryOf('')).toBe('');
  });
});

describe('streamIdFor', () => {
  it('joins category and id so that categoryOf gives the category back', () => {
    const streamId = streamIdFor('service', 'shop-api');
    expect(streamId).toBe('service-shop-api');
    expect(categoryOf(streamId)).toBe('service');
  });

  it.each([['', 'x'], ['dead-letter', 'x'], ['incident', '']])('rejects category %j with id %j', (category, id) => {
    expect(() => streamIdFor(category, id)).toThrow(EventContractError);
  });
});

describe('subjectFor', () => {
  it('is antibody.<category>.<type>', () => {
    expect(SUBJECT_PREFIX).toBe('antibody');
    expect(subjectFor('incident', 'IncidentOpened')).toBe('antibody.incident.IncidentOpened');
  });

  it.each([['', 'IncidentOpened'], ['inci.dent', 'IncidentOpened'], ['incident', 'Incident*'], ['incident', 'A B'], ['incident', '>']])(
    'rejects tokens NATS cannot route: %j %j',
    (category, type) => {
      expect(() => subjectFor(category, type)).toThrow(expect.objectContaining({ name: 'EventContractError', code: 'INVALID_SUBJECT' }));
    },
  );
});
