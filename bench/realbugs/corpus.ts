// The real-bug corpus: one JSON file per bug under bench/realbugs/bugs/, validated by the schema
// below. Facts only: where the code is (repository, parent and fix commits), how to install, build
// and test it, what the crash is, a trigger script of ours that provokes it, and which tests the
// upstream fix added. The packages' code is never committed here; materialise.ts fetches it.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

const sha = z.string().regex(/^[0-9a-f]{40}$/, 'a full 40-hex commit sha');
const relativePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'a path relative to the repository root');

/** Where a frame is: a file relative to the repository root and a 1-based line. */
export const locationSchema = z.object({ file: relativePath, line: z.number().int().positive() }).strict();

export const bugSchema = z
  .object({
    /** Stable id: `<package>-<short description>`, also the file name (without .json). */
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/),
    /** The npm package name, as an application imports it. */
    package: z.string().min(1),
    /** Public repository (https URL, no .git). */
    repository: z.string().regex(/^https:\/\/github\.com\/[^/]+\/[^/]+$/),
    /** The commit just before the fix (the fix's first parent): the bug is present here. */
    parentCommit: sha,
    /** The upstream commit that fixes the bug (on a merged PR: the commit with the code change). */
    fixCommit: sha,
    language: z.enum(['typescript', 'javascript']),
    /** How the package is loaded by an application at the parent: require() or import. */
    moduleSystem: z.enum(['cjs', 'esm']),
    /** True when the code an application (and the trigger) runs is build output (tsc, bundler), not the sources. */
    built: z.boolean(),
    testRunner: z.enum(['jest', 'vitest', 'mocha', 'node:test', 'jasmine', 'ava', 'tap', 'tape', 'nodeunit', 'uvu', 'lab']),
    commands: z
      .object({
        /** Run in the checkout root; `npm install` flavours. */
        install: z.string().min(1),
        /** Null when the package runs from its sources. */
        build: z.string().min(1).nullable(),
        /** The repository's own test command (not run by materialise). */
        test: z.string().min(1),
      })
      .strict(),
    crash: z
      .object({
        /** The exception's name (TypeError, RangeError, ...). */
        type: z.string().min(1),
        /** The exact message on Node.js 20. */
        message: z.string().min(1),
        /** The innermost frame in the package's own code (not node_modules) when the trigger runs at the parent; a `*` in the file stands for a content hash in a bundle's file name. */
        frame: locationSchema,
        /** For built packages: the source line that frame was compiled from (null when not built). */
        source: locationSchema.nullable(),
      })
      .strict(),
    trigger: z
      .object({
        /** cjs: run as trigger.cjs (require), esm: as trigger.mjs (import). */
        kind: z.enum(['cjs', 'esm']),
        /** The script: it imports the package by its name, as an application does, and calls its public API. */
        code: z.string().min(1),
      })
      .strict(),
    /**
     * The failing call as the application names it in its report (Sentry's `contexts.antibody.call`):
     * the package, the export and the arguments (encoded as the contract's `capturedValueSchema`
     * says); null when the failure needs state built by earlier calls (an object made before the
     * failing method call) or arguments no report would carry.
     */
    call: z.object({ module: z.string().min(1), export: z.string(), construct: z.boolean().optional(), args: z.array(z.unknown()) }).strict().nullable(),
    /** Typed errors the application handles (the trigger catches them): the service's `allowedErrors` policy. */
    allowedErrors: z.array(z.string().min(1)).optional(),
    /** Tests the upstream fix added or changed: the file (at the fix commit) and the test names; empty when the fix came without tests. */
    fixTests: z.array(z.object({ file: relativePath, names: z.array(z.string().min(1)) }).strict()),
    description: z.string().min(1),
    /** The upstream issue or pull request, when there is one. */
    link: z.string().url().nullable(),
  })
  .strict();

export type Bug = z.infer<typeof bugSchema>;

export const BUGS_DIR = join(__dirname, '..', '..', 'realbugs', 'bugs');

/** Reads and validates every bugs/*.json (sorted by id); throws naming the file on the first invalid one. */
export function loadCorpus(dir: string = BUGS_DIR): Bug[] {
  const bugs = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const parsed = bugSchema.safeParse(JSON.parse(readFileSync(join(dir, f), 'utf8')));
      if (!parsed.success) throw new Error(`${f}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      if (`${parsed.data.id}.json` !== f) throw new Error(`${f}: id ${parsed.data.id} does not match the file name`);
      return parsed.data;
    });
  const ids = new Set<string>();
  for (const bug of bugs) {
    if (ids.has(bug.id)) throw new Error(`duplicate id ${bug.id}`);
    ids.add(bug.id);
  }
  return bugs;
}
