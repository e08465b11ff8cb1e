/**
 * The reproduction gate, independent of the repository's test framework: which call makes the
 * captured failure again (planned here from what the report carries), and what its runs on the
 * baseline and on the patched tree prove. Pure: the harness (infrastructure/harness.ts) makes the
 * call in the sandbox and hands back how it ended.
 */
import type { EventData } from '@antibody/contracts';
import { repositoryPathOf, type CapturedFailure } from './reproduction';

/** The failing call the application named (`ErrorRecorded.call`). */
export type CapturedCall = NonNullable<EventData<'ErrorRecorded'>['call']>;

/** Where the harness finds the function to call. */
export type ModuleRef =
  /** The repository's own package, by its name (and a subpath): resolved through its `exports`, else `main`. */
  | { readonly kind: 'package'; readonly specifier: string }
  /** A file of the repository. */
  | { readonly kind: 'file'; readonly path: string };

/** One call the harness may make; the first whose export exists is made. */
export interface CallCandidate {
  readonly module: ModuleRef;
  /** Dotted export path (`default`, `parse`, `Parser.parse`); empty for the module itself. */
  readonly export: string;
  readonly construct: boolean;
  readonly input: 'call' | 'request' | 'locals';
  /** The arguments (encoded values) for `call` and `request` input. */
  readonly args?: readonly unknown[];
  /** For `locals` input: the frame's variables, given to the function's parameters by name. */
  readonly vars?: Readonly<Record<string, unknown>>;
}

/** What the harness is asked to do. */
export interface HarnessPlan {
  readonly kind: 'planned';
  readonly candidates: readonly CallCandidate[];
  /** `import()` or `require()` first: as the captured frame's code was loaded. */
  readonly prefer: 'import' | 'require';
}

/** Why no call can be planned, in plain words. */
export interface NoCall {
  readonly kind: 'none';
  readonly reason: string;
}

/** The captured exception and the frame it was thrown at, as the gate compares them. */
export interface CapturedThrow {
  readonly type: string;
  readonly message: string;
  /** The innermost in-app frame, as the SDK reported it (its file may be an absolute path on the production host). */
  readonly frame?: { readonly file: string; readonly line?: number; readonly function?: string };
}

/** A frame of an exception the harness saw, relative to the worktree: as run, and where a source map leads. */
export interface HarnessFrame {
  readonly file: string;
  readonly line: number;
  readonly function?: string;
  /** The source position through the source map Node loaded, when the file has one. */
  readonly source?: { readonly file: string; readonly line: number };
}

/** How one harness run ended. */
export type CallOutcome =
  | { readonly outcome: 'threw'; readonly type: string; readonly message: string; readonly frames: readonly HarnessFrame[]; readonly candidate: number }
  | { readonly outcome: 'returned'; readonly candidate: number }
  | { readonly outcome: 'harness-failed'; readonly reason: string };

const JS_OR_TS = /\.(c|m)?(j|t)sx?$/;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * Plans the call that makes the captured failure again, from (in this order) the call the
 * application named, the request data given to an in-app frame's exported function, or an in-app
 * frame's local variables given to its function's parameters by name. Frames are tried innermost
 * first; the harness makes the first call whose module and export exist.
 */
export function planCall(failure: CapturedFailure & { readonly call?: CapturedCall }, repo: { readonly packageJson: unknown; readonly files: readonly string[] }): HarnessPlan | NoCall {
  const pkg = (repo.packageJson ?? {}) as { name?: unknown; type?: unknown };
  const name = typeof pkg.name === 'string' ? pkg.name : undefined;
  const innermost = [...failure.frames].reverse().find((f) => f.inApp);
  const prefer = preferredLoader(innermost?.filename, pkg.type === 'module');
  if (failure.call) {
    const module = moduleOf(failure.call.module, name, repo.files);
    if (!module) {
      return { kind: 'none', reason: `the captured call names module "${failure.call.module}", which is neither this repository's package${name ? ` (${name})` : ''} nor one of its files.` };
    }
    return { kind: 'planned', prefer, candidates: [{ module, export: failure.call.export, construct: failure.call.construct === true, input: 'call', args: failure.call.args }] };
  }
  const candidates: CallCandidate[] = [];
  for (const frame of [...failure.frames].reverse().filter((f) => f.inApp)) {
    const file = repositoryPathOf(frame.filename, repo.files);
    const fn = callableName(frame.function);
    if (!file || !fn || !JS_OR_TS.test(file)) continue;
    const module: ModuleRef = { kind: 'file', path: file };
    if (frame.vars && Object.keys(frame.vars).length > 0) candidates.push({ module, export: fn, construct: false, input: 'locals', vars: frame.vars });
    if (failure.request?.data !== undefined) candidates.push({ module, export: fn, construct: false, input: 'request', args: [decodeBody(failure.request.data)] });
  }
  if (candidates.length > 0) return { kind: 'planned', prefer, candidates };
  const why = failure.frames.some((f) => f.inApp)
    ? 'the report names no call (the native API\'s `call`, or `contexts.antibody.call` in a Sentry event), and no in-app frame of a repository file came with its local variables or request data to call it with'
    : 'the captured stack has no in-app frame and the report names no call';
  return { kind: 'none', reason: `${why}.` };
}

function moduleOf(specifier: string, packageName: string | undefined, files: readonly string[]): ModuleRef | undefined {
  if (packageName && (specifier === packageName || specifier.startsWith(`${packageName}/`))) return { kind: 'package', specifier };
  const path = specifier.replace(/^\.\//, '');
  return files.includes(path) ? { kind: 'file', path } : undefined;
}

function preferredLoader(file: string | undefined, typeModule: boolean): 'import' | 'require' {
  if (file?.endsWith('.mjs') || file?.endsWith('.mts')) return 'import';
  if (file?.endsWith('.cjs') || file?.endsWith('.cts')) return 'require';
  return typeModule ? 'import' : 'require';
}

/** A frame's function name as a property to call: `Cart.total` -> `total`, `Object.<anonymous>` -> none. */
function callableName(fn: string | undefined): string | undefined {
  if (!fn) return undefined;
  const last = fn.replace(/^async /, '').split('.').pop() ?? '';
  return IDENTIFIER.test(last) && last !== 'anonymous' ? last : undefined;
}

/** An SDK sends a JSON body as text (Sentry's request.data): the function got it parsed. */
function decodeBody(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/** The captured exception and its innermost in-app frame. */
export function capturedThrow(failure: CapturedFailure): CapturedThrow {
  const frame = [...failure.frames].reverse().find((f) => f.inApp);
  return {
    type: failure.exception.type,
    message: failure.exception.value,
    ...(frame ? { frame: { file: frame.filename, ...(frame.lineno ? { line: frame.lineno } : {}), ...(frame.function ? { function: frame.function } : {}) } } : {}),
  };
}

/** What the gate concludes from the runs. */
export type CallProof =
  /** Not reproduced on the baseline (or the harness failed there): the patch cannot be proven either way. */
  | { readonly kind: 'unproven'; readonly reason: string }
  /** Reproduced on the baseline and healed with the patch. */
  | { readonly kind: 'healed'; readonly reason: string }
  /** Reproduced on the baseline and not healed with the patch. */
  | { readonly kind: 'not-healed'; readonly reason: string };

/**
 * The baseline must throw the captured exception (same type and message) with its innermost frame
 * of the repository where the captured one was (same file and line); then the patched call must
 * neither throw it again (still there, or moved to another frame) nor throw anything else, unless
 * what it throws is a typed error the policy allows (`allowedErrors`). A harness that failed on the
 * baseline proves nothing; one that fails with the patch (the module no longer loads, the call
 * never ends) is the patch's doing.
 */
export function judgeCall(captured: CapturedThrow, baseline: CallOutcome, patched: CallOutcome | undefined, allowedErrors: readonly string[]): CallProof {
  if (baseline.outcome === 'harness-failed') return { kind: 'unproven', reason: `the reproduction harness failed on the unpatched baseline (${baseline.reason}), which proves nothing.` };
  if (baseline.outcome === 'returned') return { kind: 'unproven', reason: 'the captured call returned normally on the unpatched baseline: it does not reproduce the failure.' };
  if (!sameException(captured, baseline)) {
    return { kind: 'unproven', reason: `the captured call threw ${describeThrow(baseline)} on the unpatched baseline, not the captured ${captured.type}: ${firstLine(captured.message)}.` };
  }
  const at = innermost(baseline);
  if (captured.frame && !sameFrame(captured.frame, at)) {
    return { kind: 'unproven', reason: `the captured call threw ${captured.type} on the unpatched baseline at ${describeFrame(at)}, not where it was captured (${captured.frame.file}${captured.frame.line ? `:${captured.frame.line}` : ''}).` };
  }
  const reproduced = `the captured call threw ${captured.type} at ${describeFrame(at)} on the unpatched baseline`;
  if (!patched) return { kind: 'not-healed', reason: `${reproduced}, and it was not made with the patch.` };
  if (patched.outcome === 'harness-failed') return { kind: 'not-healed', reason: `${reproduced}; with the patch the call could not be made (${patched.reason}).` };
  if (patched.outcome === 'returned') return { kind: 'healed', reason: `${reproduced} and returns normally with the patch.` };
  const now = innermost(patched);
  if (sameException(captured, patched)) {
    if (at && now && (at.source ?? at).file === (now.source ?? now).file && functionName(at.function) === functionName(now.function)) return { kind: 'not-healed', reason: `${reproduced}, and still throws it with the patch (at ${describeFrame(now)}).` };
    return { kind: 'not-healed', reason: `${reproduced}; with the patch the crash moved to ${describeFrame(now)}: the same ${captured.type} one step further.` };
  }
  if (allowedErrors.includes(patched.type)) return { kind: 'healed', reason: `${reproduced}; with the patch it throws ${describeThrow(patched)}, a typed error the service's policy allows.` };
  return { kind: 'not-healed', reason: `${reproduced}; with the patch it throws ${describeThrow(patched)} instead.` };
}

function sameException(captured: CapturedThrow, outcome: { readonly type: string; readonly message: string }): boolean {
  return outcome.type === captured.type && outcome.message === captured.message;
}

function innermost(outcome: { readonly frames: readonly HarnessFrame[] }): HarnessFrame | undefined {
  return outcome.frames[0];
}

/**
 * The captured frame (a path on the production host, often absolute; source-mapped by ingest or
 * not) is the harness's (relative to the worktree) when it ends with its file, as run or as mapped
 * to its source, on the same line.
 */
function sameFrame(captured: NonNullable<CapturedThrow['frame']>, frame: HarnessFrame | undefined): boolean {
  if (!frame) return false;
  const file = captured.file.replace(/^file:\/\//, '').replace(/\\/g, '/');
  const at = (where: { readonly file: string; readonly line: number }) => (file === where.file || file.endsWith(`/${where.file}`)) && (captured.line === undefined || captured.line === where.line);
  return at(frame) || (frame.source !== undefined && at(frame.source));
}

function functionName(fn: string | undefined): string | undefined {
  return fn?.replace(/^async /, '').split('.').pop();
}

/** A frame as people read it: at its source position when a source map leads there. */
export function describeFrame(frame: HarnessFrame | undefined): string {
  if (!frame) return 'no frame of the repository';
  const at = frame.source ?? frame;
  return `${at.file}:${at.line}${frame.function ? ` in ${frame.function}` : ''}`;
}

function describeThrow(outcome: { readonly type: string; readonly message: string }): string {
  return `${outcome.type}: ${firstLine(outcome.message)}`;
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? '').slice(0, 200);
}
