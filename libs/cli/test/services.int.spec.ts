import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { foldEvents } from '@antibody/contracts';
import { serviceFold, underCare } from '@antibody/domain';
import { createTestStore, uniqueName, type TestStore } from '@antibody/testing';
import { runCli } from '../src';

// `antibody services apply|list|show|deregister` in-process against a real Postgres schema.

let db: TestStore;
const dir = mkdtempSync(join(tmpdir(), 'antibody-services-'));
beforeAll(async () => {
  db = await createTestStore('cli_services');
});
afterAll(async () => {
  await db.cleanup();
});

async function cli(...argv: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const exitCode = await runCli([...argv, '--schema', db.schema], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { DATABASE_URL: db.databaseUrl, ANTIBODY_USER: 'ops@example.com' },
  });
  return { exitCode, stdout, stderr };
}

function registrationFile(name: string, overrides: { test?: string; autoDeploy?: boolean; language?: string } = {}): string {
  const file = join(dir, `${name}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
repository:
  url: /srv/repos/${name}
  defaultBranch: main
commands:
  test: ${overrides.test ?? 'npm test'}
language: ${overrides.language ?? 'typescript'}
deploy:
  adapter: none
  settings: {}
policy:
  autoDeploy: ${overrides.autoDeploy ?? false}
  allowedPaths: ["src/**"]
  forbiddenPaths: []
  budgets: { perIncidentUsd: 0.5, dailyUsd: 5, monthlyUsd: 50 }
`,
  );
  return file;
}

const stream = async (name: string) => (await db.store.readStream(`service-${name}`)).events;

describe('antibody services', () => {
  it('registers from a file, appends only what changed, and says when nothing did', async () => {
    const name = uniqueName('shop').replace(/_/g, '-');
    const first = await cli('services', 'apply', '-f', registrationFile(name));
    expect(first).toEqual({ exitCode: 0, stdout: `registered ${name} (service-${name} #0)\n`, stderr: '' });

    const same = await cli('services', 'apply', '-f', registrationFile(name));
    expect(same).toMatchObject({ exitCode: 0, stdout: `${name} is unchanged (service-${name} #0); nothing appended\n` });

    const changed = await cli('services', 'apply', '-f', registrationFile(name, { test: 'npm run test:ci', language: 'javascript' }), '--reason', 'moved to plain JS');
    expect(changed).toMatchObject({ exitCode: 0, stdout: `updated ${name}: commands.test, language (service-${name} #1)\n` });

    const policy = await cli('services', 'apply', '-f', registrationFile(name, { test: 'npm run test:ci', language: 'javascript', autoDeploy: true }));
    expect(policy).toMatchObject({ exitCode: 0, stdout: `changed the policy (service-${name} #2)\n` });

    const events = await stream(name);
    expect(events.map((e) => e.type)).toEqual(['ServiceRegistered', 'ServiceUpdated', 'ServicePolicyChanged']);
    expect(events[1]!.data).toMatchObject({ changed: ['commands.test', 'language'], reason: 'moved to plain JS' });
    expect(events[1]!.metadata.producer).toEqual({ service: 'cli', instance: expect.stringMatching(/^ops@example\.com@/) });
    // Every service folds the stream the same way: the registration is the file's.
    expect(underCare(foldEvents(serviceFold, events))).toMatchObject({ commands: { test: 'npm run test:ci' }, language: 'javascript', policy: { autoDeploy: true } });

    const dry = await cli('services', 'apply', '-f', registrationFile(name, { test: 'make test', language: 'javascript', autoDeploy: true }), '--dry-run');
    expect(dry).toMatchObject({ exitCode: 0, stdout: `would have updated ${name}: commands.test\n` });
    expect(await stream(name)).toHaveLength(3);
  });

  it('lists, shows (also as the YAML apply takes) and deregisters; a deregistered service is listed with --all and can be registered again', async () => {
    const name = uniqueName('billing').replace(/_/g, '-');
    const file = registrationFile(name);
    expect((await cli('services', 'apply', '-f', file)).exitCode).toBe(0);

    const list = await cli('services', 'list');
    expect(list.exitCode).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^SERVICE +STATUS +DEPLOY +FIXES +KEYS +REPOSITORY$/);
    expect(list.stdout).toMatch(new RegExp(`^${name} +registered +none +pull request +0 keys +/srv/repos/${name}$`, 'm'));

    const shown = await cli('services', 'show', name);
    expect(shown.stdout).toContain(`service ${name} (under care), stream service-${name} at #0`);
    expect(shown.stdout).toMatch(/history:\n .*#0 +ServiceRegistered/);
    const yaml = await cli('services', 'show', name, '--yaml');
    const roundTrip = join(dir, 'round-trip.yaml');
    writeFileSync(roundTrip, yaml.stdout);
    expect(await cli('services', 'apply', '-f', roundTrip)).toMatchObject({ exitCode: 0, stdout: expect.stringContaining('is unchanged') });

    expect(await cli('services', 'deregister', name, '--reason', 'retired')).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(new RegExp(`^deregistered ${name} \\(service-${name} #1\\)`)) });
    expect((await cli('services', 'list')).stdout).not.toContain(name);
    expect((await cli('services', 'list', '--all', '--json')).stdout).toContain(`"status": "deregistered"`);
    expect((await cli('services', 'show', name)).stdout).toContain(`service ${name} (deregistered: retired)`);
    expect(await cli('services', 'apply', '-f', file)).toMatchObject({ exitCode: 0, stdout: `registered ${name} (service-${name} #2)\n` });
  });

  it('answers every bad input with exit 2 and one line, and appends nothing', async () => {
    const name = uniqueName('bad').replace(/_/g, '-');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, `name: ${name}\nrepository: { url: /x, defaultBranch: main }\ncommands: { test: npm test }\nlanguage: typescript\ndeploy: { adapter: none, settings: {} }\npolicy:\n  autoDeploy: "no"\n  allowedPaths: []\n  forbiddenPaths: []\n  budgets: { perIncidentUsd: 1, dailyUsd: 1, monthlyUsd: 1 }\n`);
    const cases: Array<[string[], RegExp]> = [
      [['services', 'apply', '-f', bad], new RegExp(`^antibody: ${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:7: policy\\.autoDeploy must be a boolean, got "no"\\n$`)],
      [['services', 'apply', '-f', join(dir, 'missing.yaml')], /^antibody: cannot read .*missing\.yaml: no such file\n$/],
      [['services', 'apply', '-f', dir], /^antibody: cannot read .*: it is a directory\n$/],
      [['services', 'apply'], /^antibody: required option '-f, --file <path>' not specified\n$/],
      [['services', 'show', name], new RegExp(`^antibody: no service ${name} \\(service-${name} has no registration\\); see \`antibody services list\`\\n$`)],
      [['services', 'show', 'not a name'], /^antibody: "not a name" is not a service name/],
      [['services', 'deregister', name], new RegExp(`^antibody: service ${name} is not registered`)],
      [['services', 'show', name, '--yaml', '--json'], /^antibody: option '--yaml' cannot be used with option '--json'\n$/],
    ];
    for (const [argv, stderr] of cases) {
      const run = await cli(...argv);
      expect({ argv, exitCode: run.exitCode, stderr: run.stderr, stdout: run.stdout }).toEqual({ argv, exitCode: 2, stderr: expect.stringMatching(stderr), stdout: '' });
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
    expect(await stream(name)).toEqual([]);
  });

  it('migrates the event store on demand (antibody migrate), again and again', async () => {
    for (let i = 0; i < 2; i++) expect(await cli('migrate')).toEqual({ exitCode: 0, stdout: `migrate    event store schema "${db.schema}" at ${new URL(db.databaseUrl).hostname}:${new URL(db.databaseUrl).port || '5432'} is up to date\n`, stderr: '' });
    const noDatabase = await runCli(['migrate'], { stdout: { write: () => true }, stderr: { write: (text: string) => void expect(text).toBe('antibody: no database: pass --database-url or set DATABASE_URL\n') }, env: {} });
    expect(noDatabase).toBe(2);
  });
});
