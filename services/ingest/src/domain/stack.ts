import { createStackParser, type StackFrame as SentryFrame, type StackLineParser } from '@sentry/core';

// `nodeStackLineParser` lives in @sentry/core's `server` entry, which this workspace's
// `moduleResolution: node10` cannot see through package `exports`; the runtime require is typed here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { nodeStackLineParser } = require('@sentry/core/server') as { nodeStackLineParser: () => StackLineParser };

/** One stack frame, oldest call first in a list (Sentry's order). */
export interface Frame {
  filename: string;
  function?: string;
  lineno?: number;
  colno?: number;
  inApp: boolean;
  module?: string;
  contextLine?: string;
  preContext?: string[];
  postContext?: string[];
  /** Local variables as the SDK sent them (Sentry's `includeLocalVariables`), scrubbed. */
  vars?: Record<string, unknown>;
}

/** The thrown error as parsed from a V8 `error.stack` string. */
export interface ParsedStack {
  type: string;
  message: string;
  /** Oldest call first; the crashing frame is last. */
  frames: Frame[];
}

const parseLines = createStackParser(nodeStackLineParser());

/**
 * Parses a V8 stack trace (`error.stack`, also from ESM `file://` URLs, eval, async frames and
 * `node:internal`) with @sentry/core's Node line parser. The first line(s) before the first `at`
 * frame are the `Type: message` header; multi-line messages are kept whole. Never throws: text
 * that is not a stack yields no frames and the whole text as the message.
 *
 * @param appRoot when given, frames outside it are not in-app.
 */
export function parseV8Stack(stack: string, appRoot?: string): ParsedStack {
  const lines = stack.replace(/\r\n?/g, '\n').split('\n');
  const firstFrame = lines.findIndex((line) => /^\s*at\s/.test(line));
  const head = (firstFrame < 0 ? lines : lines.slice(0, firstFrame)).join('\n').trim();
  const match = /^([A-Za-z_$][\w$.]*(?:\s\[[^\]]+\])?):\s?([\s\S]*)$/.exec(head);
  const type = match?.[1] ?? 'Error';
  const message = match ? (match[2] ?? '') : head;
  const frames = firstFrame < 0 ? [] : parseLines(lines.slice(firstFrame).join('\n')).map((frame) => toFrame(frame, appRoot));
  return { type, message, frames };
}

function toFrame(frame: SentryFrame, appRoot: string | undefined): Frame {
  const filename = frame.filename ?? '<unknown>';
  const fn = frame.function && frame.function !== '?' ? frame.function.replace(/\.\?$/, '.<anonymous>') : undefined;
  return {
    filename,
    ...(fn ? { function: fn } : {}),
    ...(frame.lineno !== undefined ? { lineno: frame.lineno } : {}),
    ...(frame.colno !== undefined ? { colno: frame.colno } : {}),
    inApp: isInApp(filename, appRoot),
    ...(frame.module ? { module: frame.module } : {}),
  };
}

/**
 * Whether a file belongs to the application: not a dependency (`node_modules`), not the runtime
 * (`node:` modules, `internal/…`, native frames), not eval'd code, and inside `appRoot` when one
 * is known.
 */
export function isInApp(filename: string, appRoot?: string): boolean {
  if (filename === '' || filename === '<unknown>' || filename === 'native' || filename === '<anonymous>') return false;
  if (/(^|[\\/])node_modules[\\/]/.test(filename)) return false;
  if (filename.startsWith('node:') || filename.startsWith('internal/') || filename.startsWith('eval at ')) return false;
  if (/^index \d+$/.test(filename)) return false; // `at async Promise.all (index 0)`
  if (!/[\\/]/.test(filename) && !/\.[cm]?[jt]sx?$/.test(filename)) return false; // e.g. `events.js` core modules have no path
  if (appRoot !== undefined && appRoot !== '') {
    const root = appRoot.replace(/^file:\/\//, '').replace(/[\\/]+$/, '');
    const file = filename.replace(/^file:\/\//, '');
    return file === root || file.startsWith(`${root}/`) || file.startsWith(`${root}\\`) || !file.startsWith('/');
  }
  return true;
}
