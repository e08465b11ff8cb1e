import { planDataDir, SYSTEM_STATE_DIR } from '../up/postgres';
import { listeningPort, parseOnly, PLATFORM_SERVICES } from './up';

describe('antibody up', () => {
  it('takes --only as known service names, and refuses anything else with a usage error naming the known ones', () => {
    expect(parseOnly(undefined)).toBeUndefined();
    expect(parseOnly('ingest,analyzer')).toEqual(['ingest', 'analyzer']);
    expect(parseOnly(' deployer , console ')).toEqual(['deployer', 'console']);
    expect(() => parseOnly('ingest,nope')).toThrow(expect.objectContaining({ exitCode: 2, message: `--only: unknown service "nope" (known: ${PLATFORM_SERVICES.join(', ')})` }));
    expect(() => parseOnly(',')).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringMatching(/^--only needs service names/) }));
    expect(() => parseOnly('ingest,ingest')).toThrow(expect.objectContaining({ exitCode: 2, message: '--only names ingest twice' }));
  });

  it("reads where a service listens from its log line, JSON or not", () => {
    expect(listeningPort('{"level":30,"time":1,"msg":"antibody-ingest listening on :4100"}')).toBe(4100);
    expect(listeningPort('antibody-deployer listening on :5204')).toBe(5204);
    expect(listeningPort('{"msg":"connected to Postgres"}')).toBeUndefined();
  });

  describe("the local Postgres's data directory", () => {
    const postgres = { user: 'postgres', uid: 101, gid: 104 };

    it('is under the home directory when Postgres runs as the current user', () => {
      expect(planDataDir({ stateDir: '/home/ada/.antibody', reachable: () => false })).toEqual({ dir: '/home/ada/.antibody/postgres' });
    });

    it('is under the home directory as root when the postgres user can enter it', () => {
      expect(planDataDir({ stateDir: '/root/.antibody', runAs: postgres, reachable: () => true })).toEqual({ dir: '/root/.antibody/postgres' });
    });

    it("moves, saying why, when root's home is closed to the postgres user", () => {
      expect(planDataDir({ stateDir: '/root/.antibody', runAs: postgres, reachable: (dir) => dir !== '/root/.antibody' })).toEqual({
        dir: `${SYSTEM_STATE_DIR}/postgres`,
        why: `Postgres runs as user postgres, who cannot enter /root/.antibody; its data is kept in ${SYSTEM_STATE_DIR}/postgres instead (--data-dir to choose)`,
      });
    });

    it('is --data-dir when given', () => {
      expect(planDataDir({ explicit: '/srv/antibody/pg', stateDir: '/root/.antibody', runAs: postgres, reachable: () => false })).toEqual({ dir: '/srv/antibody/pg' });
    });
  });
});
