import { StreamNotFoundError } from '@antibody/event-store';
import { CliError, describeDatabaseError, EXIT, ExitStatus, hostPort, outcomeOf } from './errors';

const target = { databaseUrl: 'postgres://user:secret@db.example:6543/app', schema: 'antibody' };

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('describeDatabaseError', () => {
  it('names host and port, never the password, when Postgres is unreachable', () => {
    const error = describeDatabaseError(withCode('connect ECONNREFUSED 10.0.0.1:6543', 'ECONNREFUSED'), target);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toBe('cannot reach Postgres at db.example:6543 (ECONNREFUSED)');
    expect(outcomeOf(error).exitCode).toBe(EXIT.failure);
  });

  it('reads the code of an AggregateError from a multi-address connect', () => {
    const error = describeDatabaseError(new AggregateError([withCode('a', 'ECONNREFUSED'), withCode('b', 'ECONNREFUSED')], ''), target);
    expect((error as CliError).message).toBe('cannot reach Postgres at db.example:6543 (ECONNREFUSED)');
  });

  it('explains a schema without an event store', () => {
    const error = describeDatabaseError(withCode('relation "antibody.events" does not exist', '42P01'), target);
    expect((error as CliError).message).toBe(
      'no event store in schema "antibody" at db.example:6543 (relation "antibody.events" does not exist): pass --schema or run the migrations',
    );
  });

  it('passes other errors through', () => {
    const error = new StreamNotFoundError('incident-x');
    expect(describeDatabaseError(error, target)).toBe(error);
  });
});

describe('outcomeOf', () => {
  it('maps an unknown stream to a usage error with its message', () => {
    expect(outcomeOf(new StreamNotFoundError('incident-x'))).toEqual({ exitCode: EXIT.usage, line: 'stream "incident-x" does not exist' });
  });

  it('prints nothing more for a command that already reported its outcome', () => {
    expect(outcomeOf(new ExitStatus(1))).toEqual({ exitCode: 1 });
  });

  it('treats anything unexpected as a runtime failure with its message only', () => {
    expect(outcomeOf(new TypeError('boom'))).toEqual({ exitCode: EXIT.failure, line: 'boom' });
  });
});

describe('hostPort', () => {
  it('defaults the port and survives garbage', () => {
    expect(hostPort('postgres://u@h/db')).toBe('h:5432');
    expect(hostPort('not a url')).toBe('an unparsable URL');
  });
});
