import type { z } from 'zod';

/**
 * Outcome of validating event data. On failure, `path` is the first failing field as a dotted
 * path starting with `data` (e.g. `data.frames.0.lineno`), or `type` / `schemaVersion` when those
 * are what is wrong; `message` is a readable sentence starting with that path.
 */
export type ValidationResult = { ok: true } | { ok: false; path: string; message: string };

/** The failed branch of {@link ValidationResult}. */
export type ValidationFailure = Extract<ValidationResult, { ok: false }>;

/** Turns the first issue of a zod error into a failed {@link ValidationResult} rooted at `data`. */
export function failureFrom(error: z.ZodError): ValidationFailure {
  const issue = error.issues[0];
  if (issue === undefined) return { ok: false, path: 'data', message: 'data: invalid' };
  const path = ['data', ...issue.path.map((segment) => String(segment))].join('.');
  return { ok: false, path, message: `${path}: ${issue.message.replace(/^Invalid input: /, '')}` };
}
