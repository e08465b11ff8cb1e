// The differential check's runs (see domain/differential.ts): the recorder, preloaded into the
// baseline's test command with NODE_OPTIONS, wraps the exports of the changed modules as Node's
// `require` hands them out and appends each call's encoded arguments to a file; the replay makes
// the recorded calls again and prints their encoded results after a marker. Both run in the
// sandbox like every step; their files live in the worktree for one run and are removed after.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordedCall, Replayed } from '../domain/differential';
import { exitCodeResult } from '../domain/test-results';
import { violationsInOutput, violationsOfRun } from '../domain/violations';
import { DECODE_SOURCE, ENCODE_SOURCE } from './captured-values';
import { runSandboxed, scrubbedEnv } from './sandbox';
import type { RunContext, StepRun } from './test-runner';
import type { Workspaces } from './workspace';

const DIR = '.antibody-differential';
const MARKER = 'ANTIBODY_REPLAY ';
/** Calls kept per recording: enough to cover a suite's uses, bounded in size and replay time. */
const MAX_CALLS = 200;
const REPLAY_TIME_LIMIT_MS = 60_000;

interface Sandboxed {
  readonly context: RunContext;
  readonly workspaces: Workspaces;
  readonly fileOwner?: number;
}

/** Runs the test command with the recorder watching `modules` (paths in the repository); returns the distinct calls, at most {@link MAX_CALLS}. */
export async function recordCalls(run: Sandboxed, step: string, command: string, modules: readonly string[]): Promise<{ run: StepRun; calls: RecordedCall[] }> {
  const { workspace } = run.context;
  const root = workspace.worktree;
  await run.workspaces.writeFile(workspace, `${DIR}/record.cjs`, RECORDER_SOURCE, run.fileOwner);
  // Created here, owned by the sandbox user: the recorder may append to it, not create files in the validator's directories.
  await run.workspaces.writeFile(workspace, `${DIR}/calls.jsonl`, '', run.fileOwner);
  try {
    const config = { root, modules, out: join(root, DIR, 'calls.jsonl'), max: MAX_CALLS };
    const ran = await sandboxed(run.context, step, command, { NODE_OPTIONS: `--require ${join(root, DIR, 'record.cjs')}`, ANTIBODY_RECORD: JSON.stringify(config) }, run.context.limits.timeLimitMs);
    const lines = (await readFile(join(root, DIR, 'calls.jsonl'), 'utf8')).split('\n').filter((l) => l.trim() !== '');
    const seen = new Set<string>();
    const calls: RecordedCall[] = [];
    for (const line of lines) {
      if (seen.has(line) || calls.length >= MAX_CALLS) continue;
      seen.add(line);
      try {
        calls.push(JSON.parse(line) as RecordedCall);
      } catch {
        // A line cut short by a process killed while writing: left out.
      }
    }
    return { run: ran, calls };
  } finally {
    await rm(join(root, DIR), { recursive: true, force: true });
  }
}

/** Makes the recorded calls again on the worktree as it is; one result per call, in order. */
export async function replayCalls(run: Sandboxed, step: string, calls: readonly RecordedCall[]): Promise<{ run: StepRun; results: Replayed[] }> {
  const { workspace } = run.context;
  const root = workspace.worktree;
  await run.workspaces.writeFile(workspace, `${DIR}/replay.cjs`, REPLAY_SOURCE, run.fileOwner);
  await run.workspaces.writeFile(workspace, `${DIR}/calls.json`, JSON.stringify(calls), run.fileOwner);
  try {
    const ran = await sandboxed(run.context, step, `node ${DIR}/replay.cjs`, {}, Math.min(run.context.limits.timeLimitMs, REPLAY_TIME_LIMIT_MS));
    const line = ran.output.split('\n').reverse().find((l) => l.startsWith(MARKER));
    const results: Replayed[] = line ? (JSON.parse(line.slice(MARKER.length)) as Replayed[]) : calls.map(() => ({ outcome: 'skipped', reason: `the replay ended without results (exit ${ran.summary.exitCode ?? 'none'})` }));
    return { run: ran, results };
  } finally {
    await rm(join(root, DIR), { recursive: true, force: true });
  }
}

async function sandboxed(context: RunContext, step: string, command: string, extraEnv: Record<string, string>, timeLimitMs: number): Promise<StepRun> {
  const { workspace } = context;
  const result = await runSandboxed({
    command,
    cwd: workspace.worktree,
    writable: [workspace.worktree, workspace.home, workspace.tmp],
    env: scrubbedEnv(workspace.home, workspace.tmp, extraEnv),
    network: 'none',
    limits: { ...context.limits, timeLimitMs },
    uid: context.uid,
    ...(context.signal ? { signal: context.signal } : {}),
  });
  const violations = [...violationsOfRun({ timedOut: result.timedOut, outputCapped: result.outputCapped, signal: result.signal, timeLimitMs }), ...violationsInOutput(result.output)];
  return {
    step,
    command: extraEnv['NODE_OPTIONS'] ? `NODE_OPTIONS=${extraEnv['NODE_OPTIONS']} ${command}` : command,
    summary: { results: exitCodeResult(command, result.exitCode, result.durationMs, result.output.slice(-2000)), exitCode: result.exitCode, timedOut: result.timedOut || result.outputCapped, violations },
    output: result.output,
    durationMs: result.durationMs,
    enforced: result.enforced,
  };
}

/** Preloaded into every Node process of the test run: records calls to the changed modules' exports. */
const RECORDER_SOURCE = String.raw`'use strict';
// Written by Antibody's validator: records the calls the tests make to the modules a patch changes.
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
${ENCODE_SOURCE}
const config = JSON.parse(process.env.ANTIBODY_RECORD || '{}');
const watched = new Map();
for (const rel of config.modules || []) {
  const abs = path.join(config.root, rel);
  watched.set(abs, rel);
  try { watched.set(fs.realpathSync(abs), rel); } catch {}
}
let recorded = 0;
const wrappers = new WeakMap();

function record(module, name, args) {
  if (recorded >= config.max) return;
  let encoded;
  try {
    encoded = encode(args, false);
  } catch {
    return; // arguments the encoding cannot carry back (functions, class instances): not replayable
  }
  recorded += 1;
  try {
    fs.appendFileSync(config.out, JSON.stringify({ module, export: name, args: encoded }) + '\n');
  } catch {}
}

function recording(module, name, fn) {
  const wrapper = function (...args) {
    if (new.target) return Reflect.construct(fn, args, new.target);
    record(module, name, args);
    return fn.apply(this, args);
  };
  Object.defineProperty(wrapper, 'name', { value: fn.name });
  Object.defineProperty(wrapper, 'length', { value: fn.length });
  return wrapper;
}

function wrap(exports, module) {
  if ((typeof exports !== 'object' && typeof exports !== 'function') || exports === null) return exports;
  if (wrappers.has(exports)) return wrappers.get(exports);
  const calledItself = typeof exports === 'function' ? recording(module, '', exports) : undefined;
  const proxy = new Proxy(exports, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof key !== 'string' || typeof value !== 'function' || /^[A-Z]/.test(key)) return value;
      // A frozen property must be handed out as it is (a Proxy's invariant).
      const own = Object.getOwnPropertyDescriptor(target, key);
      if (own && !own.configurable && !own.writable) return value;
      if (!wrappers.has(value)) wrappers.set(value, recording(module, key, value));
      return wrappers.get(value);
    },
    apply(target, self, args) {
      return calledItself.apply(self, args);
    },
  });
  wrappers.set(exports, proxy);
  return proxy;
}

const load = Module._load;
Module._load = function (request, parent, isMain) {
  const exports = load.apply(this, arguments);
  let file;
  try {
    file = Module._resolveFilename(request, parent, isMain);
  } catch {
    return exports;
  }
  const module = watched.get(file);
  return module === undefined ? exports : wrap(exports, module);
};
`;

/** Makes the recorded calls again and prints their encoded results. */
const REPLAY_SOURCE = String.raw`'use strict';
// Written by Antibody's validator: makes recorded calls again and prints how each ended.
const fs = require('node:fs');
const path = require('node:path');
${DECODE_SOURCE}
${ENCODE_SOURCE}
const root = path.resolve(__dirname, '..');
const calls = JSON.parse(fs.readFileSync(path.join(__dirname, 'calls.json'), 'utf8'));

async function one(call) {
  let exports;
  try {
    exports = require(path.join(root, call.module));
  } catch (error) {
    return { outcome: 'skipped', reason: 'cannot load ' + call.module + ': ' + String(error && error.message).split('\n')[0] };
  }
  const fn = call.export === '' ? exports : exports && exports[call.export];
  if (typeof fn !== 'function') return { outcome: 'skipped', reason: call.module + ' exports no function ' + JSON.stringify(call.export) };
  const args = call.args.map((a) => decode(a, false));
  try {
    let value = fn.apply(call.export === '' ? undefined : exports, args);
    if (value && typeof value.then === 'function') value = await value;
    return { outcome: 'returned', value: encode(value, true), after: encode(args, true) };
  } catch (error) {
    const isError = error instanceof Error;
    return { outcome: 'threw', type: isError ? error.name : typeof error, message: isError ? error.message : String(error) };
  }
}

(async () => {
  const results = [];
  for (const call of calls) results.push(await one(call));
  fs.writeSync(1, '\n' + ${JSON.stringify(MARKER)} + JSON.stringify(results) + '\n');
})().finally(() => process.exit(0));
`;
