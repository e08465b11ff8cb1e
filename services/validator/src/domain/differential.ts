/**
 * The differential check: behaviour kept where it was right. The calls the application's own tests
 * make to the modules a patch changes are recorded on the baseline, replayed on the baseline (twice:
 * a call whose result differs between those is not deterministic and is left out) and on the
 * patched tree. A patch that changes the result (or what the call does to its arguments) of a call
 * that did not throw on the baseline broke a path that worked. Pure: the recording and replays run
 * in the sandbox (infrastructure/differential.ts).
 */
import { readDiff } from '@antibody/fix-kit';

/** One recorded call: a module of the repository, its export, the encoded arguments. */
export interface RecordedCall {
  readonly module: string;
  readonly export: string;
  readonly args: readonly unknown[];
}

/** One replay of a recorded call, encoded for comparison. */
export type Replayed =
  | { readonly outcome: 'returned'; readonly value: unknown; readonly after: unknown }
  | { readonly outcome: 'threw'; readonly type: string; readonly message: string }
  | { readonly outcome: 'skipped'; readonly reason: string };

/** What the check concludes. */
export type BehaviourCheck =
  | { readonly kind: 'kept'; readonly compared: number; readonly note: string }
  | { readonly kind: 'changed'; readonly reason: string }
  | { readonly kind: 'not-checked'; readonly reason: string };

/** Files Node loads with `require` as written: the differential check records their exports. */
const RECORDABLE = /\.(c)?js$/;

/** The repository files the patch changes that the recorder can watch (JavaScript loaded by `require`). */
export function modulesToRecord(diff: string, packageType: unknown): string[] {
  const read = readDiff(diff);
  if (read.kind === 'unreadable') return [];
  const files = read.files.map((f) => f.newPath ?? f.oldPath).filter((p): p is string => p !== undefined);
  // In a "type": "module" package, .js files are ES modules: `require` hooks never see them.
  return files.filter((f) => RECORDABLE.test(f) && !(packageType === 'module' && f.endsWith('.js')));
}

/**
 * Compares the replays call by call: the first call that returned the same on both baseline
 * replays and returns something else with the patch (a different value, different changes to its
 * arguments, or a throw) is the change. Calls that threw on the baseline are the failing path the
 * patch is meant to change; they are not compared.
 */
export function decideBehaviour(calls: readonly RecordedCall[], baseline: readonly Replayed[], again: readonly Replayed[], patched: readonly Replayed[]): BehaviourCheck {
  if (calls.length === 0) return { kind: 'not-checked', reason: 'the tests made no recordable call to the changed modules' };
  let compared = 0;
  let unstable = 0;
  for (const [i, call] of calls.entries()) {
    const before = baseline[i];
    if (before?.outcome !== 'returned') continue;
    if (!sameJson(before, again[i])) {
      unstable += 1;
      continue;
    }
    compared += 1;
    const after = patched[i];
    if (after && sameJson(before, after)) continue;
    const what = `${call.export || '(the module)'}(${preview(call.args)}) in ${call.module}`;
    if (!after || after.outcome === 'skipped') return { kind: 'changed', reason: `the patch breaks a call that worked on the baseline: ${what} could not be made with the patch${after ? ` (${after.reason})` : ''}.` };
    if (after.outcome === 'threw') return { kind: 'changed', reason: `the patch breaks a call that worked on the baseline: ${what} returned ${preview([before.value])} and now throws ${after.type}: ${after.message.split('\n')[0]?.slice(0, 160)}.` };
    if (!sameJson(before.value, after.value)) return { kind: 'changed', reason: `the patch changes the result of a call that worked on the baseline: ${what} returned ${preview([before.value])}, and returns ${preview([after.value])} with the patch.` };
    return { kind: 'changed', reason: `the patch changes what a call that worked on the baseline does to its arguments: ${what} left them as ${preview([before.after])}, and as ${preview([after.after])} with the patch.` };
  }
  if (compared === 0) return { kind: 'not-checked', reason: `none of the ${calls.length} recorded calls returned deterministically on the baseline` };
  return { kind: 'kept', compared, note: `${compared} recorded call${compared === 1 ? '' : 's'} return the same with the patch${unstable > 0 ? ` (${unstable} left out: not deterministic)` : ''}` };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Arguments as a person reads them, cut short. */
function preview(values: readonly unknown[]): string {
  const text = values.map((v) => JSON.stringify(v) ?? 'undefined').join(', ');
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}
