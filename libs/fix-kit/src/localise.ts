import ts from 'typescript';
import { enclosingFunction, nodeStartingOn, functionName, isSimpleReference, lineText, nodesOnLine, parseSource, rootIdentifier, textOf, isPatchableFile } from './ast';
import type { FixSite } from './propose';
import type { Evidence } from './rules';
import { badValueAt, findUnawaitedAsyncCalls } from './templates';
import { mapBuiltFrame } from './built';

/** A stack frame as ingest records it (Sentry's shape, oldest call first). */
export interface FrameFacts {
  readonly filename: string;
  readonly function?: string;
  readonly lineno?: number;
  readonly colno?: number;
  readonly inApp: boolean;
  /** The line's text as the program ran it (the built file's line, for build output). */
  readonly contextLine?: string;
  readonly preContext?: readonly string[];
  readonly postContext?: readonly string[];
}

/** Reads a repository file at the analysed commit; undefined when it does not exist there. */
export type SourceReader = (path: string) => Promise<string | undefined>;

export interface LocaliseInput {
  readonly frames: readonly FrameFacts[];
  readonly errorType: string;
  readonly message: string;
  /** The error class of the best rule (templates use it to find the bad value), if a rule matched. */
  readonly errorClass?: string;
  readonly captures?: Readonly<Record<string, string>>;
  readonly read: SourceReader;
  /** How many in-app frames to walk from the crash (default 4). */
  readonly depth?: number;
  /** Every file path at the analysed commit; spares reads when frames in build output are traced to their sources. */
  readonly listFiles?: () => Promise<readonly string[]>;
}

/** Where the fix belongs and why. */
export interface Localisation {
  /** Candidate fix sites, best first; the first is where the fix belongs. */
  readonly sites: readonly FixSite[];
  /** The crash line as it reads at the commit. */
  readonly contextLine?: string;
  readonly evidence: readonly Evidence[];
  /** One sentence per step of reasoning, for the diagnosis record. */
  readonly notes: readonly string[];
  /**
   * When no frame could be read and some were build output that could not be traced to their
   * sources: why, per frame (the source it would be, what to configure).
   */
  readonly failure?: string;
}

const MAYBE_MISSING = /\.(find|get|match|exec|pop|shift|at)\(|\[[^\]]+\]\s*;?$|JSON\.parse\(|process\.env\./;

/**
 * Walks the crash frame and its in-app callers (reading each file at the commit through `read`)
 * and decides where the fix belongs. When the bad value at the crash is a parameter (or read
 * from one), the caller that passed it becomes a site too, with its argument as the suspect; when
 * that argument comes from a lookup that may miss (`find`, `get`, an index, `JSON.parse`…), the
 * caller is preferred. Un-awaited calls to async functions on the walked frames are recorded as
 * `unawaited-async-call` evidence with the frame as a site. Frames whose file cannot be read
 * (not at that commit, not code) are skipped and noted, except build output (`dist/x.js` built
 * from `src/x.ts`, no source map), which is traced to its source file and line by name and the
 * captured line text (`mapped-from-build-output` evidence) when that is unambiguous. Never throws for missing code; rejects
 * only when `read` rejects.
 */
export async function localise(input: LocaliseInput): Promise<Localisation> {
  const notes: string[] = [];
  const evidence = new Set<Evidence>();
  const frames = input.frames.filter((f) => f.inApp && f.lineno !== undefined && isPatchableFile(f.filename)).reverse().slice(0, input.depth ?? 4);
  const resolved: { frame: FrameFacts; file: string; source: string; line: number; mapped: boolean }[] = [];
  const unmapped: string[] = [];
  let tracked: Promise<ReadonlySet<string>> | undefined;
  for (const frame of frames) {
    const found = await readFrameFile(frame.filename, input.read);
    if (found) {
      resolved.push({ frame, file: found.path, source: found.source, line: frame.lineno as number, mapped: false });
      continue;
    }
    const listFiles = input.listFiles;
    if (listFiles) tracked ??= listFiles().then((files) => new Set(files));
    const mapped = await mapBuiltFrame(frame.filename, frame, input.read, tracked ? await tracked : undefined);
    if (mapped?.kind === 'mapped') {
      evidence.add('mapped-from-build-output');
      const context = mapped.contextMatches > 0 ? ` and ${mapped.contextMatches} of its context lines` : '';
      notes.push(`${mapped.built}:${frame.lineno} is build output without a source map: mapped to ${mapped.path}:${mapped.line} by file name and the captured line text${context}, not by a source map`);
      resolved.push({ frame, file: mapped.path, source: mapped.source, line: mapped.line, mapped: true });
    } else if (mapped) {
      unmapped.push(mapped.reason);
      notes.push(`${mapped.reason}; frame skipped`);
    } else {
      notes.push(`${frame.filename} is not in the repository at this commit; frame skipped`);
    }
  }
  const crash = resolved[0];
  if (!crash) return { sites: [], evidence: [], notes: [...notes, 'no in-app frame could be read at the commit'], ...(unmapped.length > 0 ? { failure: unmapped.join('; ') } : {}) };

  const sf = parseSource(crash.file, crash.source);
  const contextLine = lineText(sf, crash.line);
  if (!crash.mapped && crash.frame.contextLine !== undefined && contextLine !== undefined && crash.frame.contextLine.trim() !== contextLine.trim()) {
    notes.push(`the crash line at the commit differs from the captured context line (source maps or a moved line); using the commit's text`);
  }
  const sites: FixSite[] = [];
  const suspect = input.errorClass
    ? badValueAt({ file: crash.file, source: crash.source, line: crash.line, errorClass: input.errorClass, errorType: input.errorType, message: input.message, captures: input.captures ?? {} })
    : undefined;
  const crashFn = functionAt(sf, crash.line);
  sites.push({ file: crash.file, source: crash.source, line: crash.line, function: crash.frame.function ?? crashFn, suspect, weight: 1 });
  notes.push(`crash at ${crash.file}:${crash.line}${suspect ? `, bad value ${suspect}` : ''}`);

  if (findUnawaitedAsyncCalls(sf, crash.line).length > 0) {
    evidence.add('unawaited-async-call');
    notes.push(`an async function's result is used without await at ${crash.file}:${crash.line}`);
  }

  // The bad value came in as an argument: follow it to the caller.
  const caller = resolved[1];
  const param = suspect ? parameterBehind(sf, crash.line, suspect) : undefined;
  if (caller && param) {
    const csf = parseSource(caller.file, caller.source);
    const callee = (crash.frame.function ?? crashFn ?? '').split('.').pop() ?? '';
    const call = nodesOnLine(csf, caller.line, ts.isCallExpression).find((c) => {
      const e = c.expression;
      return (ts.isIdentifier(e) && e.text === callee) || (ts.isPropertyAccessExpression(e) && e.name.text === callee);
    });
    const arg = call?.arguments[param.index];
    if (arg && isSimpleReference(arg)) {
      const argText = textOf(csf, arg);
      const callerSuspect = argText + param.rest;
      const origin = originOf(csf, caller.line, arg);
      const prefer = origin !== undefined && MAYBE_MISSING.test(origin);
      sites.push({ file: caller.file, source: caller.source, line: caller.line, function: caller.frame.function ?? functionAt(csf, caller.line), suspect: callerSuspect, weight: prefer ? 1 : 0.9 });
      if (prefer) {
        const crashSite = sites[0]!;
        sites[0] = { ...crashSite, weight: 0.85 };
        notes.push(`${param.name} comes from ${argText} in ${caller.file}:${caller.line}, produced by \`${origin?.trim()}\`, which can miss: the fix belongs in the caller`);
      } else {
        notes.push(`${param.name} is passed by ${caller.file}:${caller.line} as ${argText}; the caller is a second fix site`);
      }
    }
  }

  // Callers that dropped a promise (unhandled rejections surface inside the callee).
  for (const other of resolved.slice(1)) {
    const osf = parseSource(other.file, other.source);
    if (findUnawaitedAsyncCalls(osf, other.line).length > 0) {
      evidence.add('unawaited-async-call');
      if (!sites.some((s) => s.file === other.file && s.line === other.line)) {
        sites.push({ file: other.file, source: other.source, line: other.line, function: other.frame.function ?? functionAt(osf, other.line), weight: 1 });
      }
      notes.push(`caller ${other.file}:${other.line} calls an async function without await`);
    } else if (!sites.some((s) => s.file === other.file && s.line === other.line)) {
      sites.push({ file: other.file, source: other.source, line: other.line, function: other.frame.function ?? functionAt(osf, other.line), weight: 0.7 });
    }
  }
  sites.sort((a, b) => b.weight - a.weight);
  return { sites, contextLine, evidence: [...evidence], notes };
}

function functionAt(sf: ts.SourceFile, line: number): string | undefined {
  const node = nodeStartingOn(sf, line);
  const fn = node && enclosingFunction(node);
  return fn ? functionName(fn) : undefined;
}

/** When `suspect` is a parameter of the function at `line` (or read from one), which one and the rest of the chain. */
function parameterBehind(sf: ts.SourceFile, line: number, suspect: string): { name: string; index: number; rest: string } | undefined {
  const expr = nodesOnLine(sf, line, (n): n is ts.Expression => ts.isExpression(n) && textOf(sf, n) === suspect)[0];
  if (!expr) return undefined;
  const root = rootIdentifier(expr);
  const fn = enclosingFunction(expr);
  if (!root || !fn) return undefined;
  const index = fn.parameters.findIndex((p) => ts.isIdentifier(p.name) && p.name.text === root.text);
  if (index < 0) return undefined;
  // Reassigned parameters are not what the caller passed.
  return { name: root.text, index, rest: suspect.slice(root.text.length) };
}

/** The initializer text of the variable an argument is read from, when declared in the same function before the call. */
function originOf(sf: ts.SourceFile, line: number, arg: ts.Expression): string | undefined {
  if (!isSimpleReference(arg)) return undefined;
  if (ts.isElementAccessExpression(arg) || /\.get\(/.test(textOf(sf, arg))) return textOf(sf, arg);
  const root = rootIdentifier(arg);
  const fn = enclosingFunction(arg);
  if (!root || !fn?.body) return undefined;
  let found: string | undefined;
  const visit = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.name.text === root.text && n.initializer && sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1 <= line) {
      found = textOf(sf, n.initializer);
    }
    ts.forEachChild(n, visit);
  };
  visit(fn.body);
  return found;
}

/** Resolves a frame's file name to a repository path: as given, then without URL scheme, leading `/` and leading directories. */
async function readFrameFile(filename: string, read: SourceReader): Promise<{ path: string; source: string } | undefined> {
  const cleaned = filename.replace(/^[a-z][a-z0-9+.-]*:\/\/\/?/i, '').replace(/^\/+/, '').replace(/\\/g, '/');
  const parts = cleaned.split('/').filter((p) => p !== '' && p !== '.');
  for (let i = 0; i < parts.length; i++) {
    const path = parts.slice(i).join('/');
    if (path.split('/').includes('..')) continue;
    const source = await read(path);
    if (source !== undefined) return { path, source };
  }
  return undefined;
}
