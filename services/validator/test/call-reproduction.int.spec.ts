import { randomUUID } from 'node:crypto';
import { patchIdSchema } from '@antibody/contracts';
import type { ValidationRequest } from '../src/handlers/validate-patch';
import type { FixtureRepo } from './fixtures/git-repo';
import { useValidation } from './fixtures/validation';

// The reproduction gate on real repositories whose test runner the validator cannot write a
// regression test for (a plain `node test/run.js`): only the captured call, made again by the
// harness in the sandbox, can prove a patch. Real git, real sandbox, real Postgres.
jest.setTimeout(120_000);

const { validate, repo } = useValidation('validator_call', {
  limits: { timeLimitMs: 30_000, memoryBytes: 2 * 2 ** 30, maxProcesses: 64, outputCapBytes: 2 ** 20 },
  installTimeLimitMs: 60_000,
  flakyReruns: 1,
});

const MESSAGE = "Cannot read properties of undefined (reading 'push')";

/** A tiny argument parser with a bug: a `null` default (typeof null is 'object') has no list to go to. */
const CRASH_LINE = "  for (const key of Object.keys(defaults)) lists[typeof defaults[key]].push(args[0]);\n";
const PARSE = `function parse(args, opts) {
  const out = { _: [], strings: [] };
  const defaults = opts.default || {};
  const lists = {};
  for (const key of Object.keys(defaults)) {
    const kind = typeof defaults[key];
    lists[kind] = lists[kind] || (kind === 'string' ? out.strings : undefined);
    out[key] = defaults[key];
  }
${CRASH_LINE}  return out;
}
`;
const PARSE_LINE = 10;

/** A test that passes on the buggy code: it never reaches the failing path. */
const RUN_TESTS = `const assert = require('node:assert');
const { parse } = require('../lib/parse.js');
assert.equal(parse([], { default: { name: 'x' } }).name, 'x');
console.log('ok 1 - parse with a string default');
`;

function cjsPackage(): FixtureRepo {
  return repo({
    'package.json': JSON.stringify({ name: 'argv-lite', version: '1.0.0', main: 'lib/parse.js', scripts: { test: 'node test/run.js' } }, null, 2),
    'lib/parse.js': `${PARSE}\nmodule.exports = { parse };\n`,
    'test/run.js': RUN_TESTS,
  });
}

function request(r: FixtureRepo, diff: string, call: { module: string; export: string; args: unknown[] }, file = 'lib/parse.js', line = PARSE_LINE): ValidationRequest {
  return {
    patchId: patchIdSchema.parse(randomUUID()),
    diff,
    release: r.commit,
    failure: {
      exception: { type: 'TypeError', value: MESSAGE },
      frames: [
        { filename: '/srv/app/server.js', function: 'handle', lineno: 4, inApp: true },
        { filename: `/srv/app/node_modules/argv-lite/${file}`, function: 'parse', lineno: line, inApp: true },
      ],
      call,
    },
    service: { repository: { url: r.dir, defaultBranch: 'main' }, commands: { test: 'node test/run.js' }, policy: { allowedPaths: ['lib/**', 'src/**'], forbiddenPaths: [] } },
  };
}

const CALL = { module: 'argv-lite', export: 'parse', args: [['--foo'], { default: { bar: null } }] };

function withParseLine(line: string): string {
  return `${PARSE.replace(CRASH_LINE, line)}\nmodule.exports = { parse };\n`;
}

const HEALED = "  for (const key of Object.keys(defaults)) (lists[typeof defaults[key]] = lists[typeof defaults[key]] || []).push(args[0]);\n";

describe('the reproduction gate on a repository whose runner has no regression test', () => {
  it('validates a patch that heals the captured call, recording both runs', async () => {
    const r = cjsPackage();
    const fix = withParseLine(HEALED);
    const verdict = await validate(request(r, r.diff({ 'lib/parse.js': fix }), CALL));
    expect(verdict).toMatchObject({
      type: 'PatchValidated',
      data: {
        reproduction: {
          status: 'reproduced',
          call: { module: 'argv-lite', export: 'parse', input: 'call', baseline: { outcome: 'threw', type: 'TypeError', frame: `lib/parse.js:${PARSE_LINE} in parse` }, patched: { outcome: 'returned' } },
        },
      },
    });
    // Every step, in order: the recording and replays are the differential check.
    expect(verdict.data.logs?.map((l) => l.step)).toEqual(['test:baseline', 'reproduce:baseline', 'record:baseline', 'replay:baseline', 'replay:baseline:again', 'test:patched', 'reproduce:patched', 'replay:patched']);
  });

  it('rejects a patch that passes the suite but leaves the captured call throwing', async () => {
    const r = cjsPackage();
    const cosmetic = withParseLine(`  // every default goes to the list of its type\n${CRASH_LINE}`);
    const verdict = await validate(request(r, r.diff({ 'lib/parse.js': cosmetic }), CALL));
    expect(verdict).toMatchObject({ type: 'PatchRejected', data: { stage: 'reproduction', reason: expect.stringContaining('still throws it with the patch (at lib/parse.js:11 in parse)') } });
  });

  it('rejects a patch that moves the crash one frame further', async () => {
    const r = cjsPackage();
    const moved = `function pushTo(target, value) {\n  target.push(value);\n}\n\n${withParseLine("  for (const key of Object.keys(defaults)) pushTo(lists[typeof defaults[key]], args[0]);\n")}`;
    const verdict = await validate(request(r, r.diff({ 'lib/parse.js': moved }), CALL));
    expect(verdict).toMatchObject({ type: 'PatchRejected', data: { stage: 'reproduction', reason: expect.stringContaining('the crash moved to lib/parse.js:2 in pushTo') } });
  });

  it('calls an ES module package by its name (its "exports") and a TypeScript source through the compiler', async () => {
    const esm = repo({
      'package.json': JSON.stringify({ name: 'argv-esm', version: '1.0.0', type: 'module', exports: './lib/parse.js', scripts: { test: 'node test/run.js' } }, null, 2),
      'lib/parse.js': `${PARSE}\nexport { parse };\n`,
      'test/run.js': "import { parse } from '../lib/parse.js';\nif (parse([], { default: { name: 'x' } }).name !== 'x') process.exit(1);\nconsole.log('ok 1');\n",
    });
    const fixed = `${PARSE.replace(CRASH_LINE, HEALED)}\nexport { parse };\n`;
    const esmReq = request(esm, esm.diff({ 'lib/parse.js': fixed }), { ...CALL, module: 'argv-esm' });
    expect(await validate({ ...esmReq, failure: { ...esmReq.failure!, frames: esmReq.failure!.frames.map((f) => ({ ...f, filename: f.filename.replace('argv-lite', 'argv-esm') })) } })).toMatchObject({
      type: 'PatchValidated',
      data: { reproduction: { call: { module: 'argv-esm', baseline: { outcome: 'threw' }, patched: { outcome: 'returned' } } } },
    });

    const typed = PARSE.replace('function parse(args, opts) {', 'export function parse(args: unknown[], opts: { default?: Record<string, unknown> | null }): Record<string, unknown> {')
      .replace('const out = {', 'const out: Record<string, unknown> & { strings: unknown[] } = {')
      .replace('const lists = {};', 'const lists: Record<string, unknown[] | undefined> = {};')
      .replace(CRASH_LINE, "  for (const key of Object.keys(defaults)) lists[typeof defaults[key]]!.push(args[0]);\n");
    const ts = repo({ 'package.json': JSON.stringify({ name: 'argv-ts', version: '1.0.0', scripts: { test: 'node test/run.js' } }), 'src/parse.ts': typed, 'test/run.js': "console.log('ok 1');\n" });
    const tsFixed = typed.replace("lists[typeof defaults[key]]!.push(args[0])", "(lists[typeof defaults[key]] = lists[typeof defaults[key]] || []).push(args[0])");
    const tsReq = request(ts, ts.diff({ 'src/parse.ts': tsFixed }), { ...CALL, module: 'src/parse.ts' }, 'src/parse.ts');
    expect(await validate(tsReq)).toMatchObject({ type: 'PatchValidated', data: { reproduction: { call: { module: 'src/parse.ts', baseline: { outcome: 'threw', frame: `src/parse.ts:${PARSE_LINE} in parse` } } } } });
  });

  it('says the patch is unproven when the captured call does not throw on the baseline', async () => {
    const r = cjsPackage();
    const fix = withParseLine(HEALED);
    const verdict = await validate(request(r, r.diff({ 'lib/parse.js': fix }), { ...CALL, args: [['--foo'], {}] }));
    expect(verdict).toMatchObject({ type: 'PatchUnproven', data: { reason: expect.stringContaining('returned normally on the unpatched baseline'), reproduction: { call: { baseline: { outcome: 'returned' } } } } });
  });

  it('rejects, by the differential check, a guard that heals the crash by returning a wrong value on a path that worked', async () => {
    // The suite only checks that parsing does not throw: it cannot see a wrong result.
    const smoke = repo({
      'package.json': JSON.stringify({ name: 'argv-lite', version: '1.0.0', main: 'lib/parse.js', scripts: { test: 'node test/run.js' } }, null, 2),
      'lib/parse.js': `${PARSE}\nmodule.exports = { parse };\n`,
      'test/run.js': "const { parse } = require('../lib/parse.js');\nparse(['a'], { default: { name: 'x' } });\nparse([], {});\nconsole.log('ok 1 - parse does not throw');\n",
    });
    const guard = withParseLine('  return { _: [] };\n');
    const verdict = await validate(request(smoke, smoke.diff({ 'lib/parse.js': guard }), CALL));
    expect(verdict).toMatchObject({
      type: 'PatchRejected',
      data: { stage: 'behaviour', reason: expect.stringContaining('The patch changes the result of a call that worked on the baseline: parse(["a"], {"default":{"name":"x"}}) in lib/parse.js returned {"_":[],"strings":["a"],"name":"x"}, and returns {"_":[]} with the patch') },
    });
    expect(verdict.data.logs?.map((l) => l.step)).toEqual(expect.arrayContaining(['record:baseline', 'replay:baseline', 'replay:baseline:again', 'replay:patched']));

    // The fix that keeps that path as it was passes the same check.
    const healed = await validate(request(smoke, smoke.diff({ 'lib/parse.js': withParseLine(HEALED) }), CALL));
    expect(healed).toMatchObject({ type: 'PatchValidated' });
  });
});
