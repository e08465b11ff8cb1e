import { z } from 'zod';
import { FixKitError } from './errors';
import nodeRuntimeRules from './rules/node-runtime.rules.json';

/** The syntax-tree fix templates a rule may name (see `templates.ts`). */
export const STRATEGIES = [
  'optional-chaining',
  'guard-clause',
  'nullish-default',
  'default-parameter',
  'array-check',
  'typeof-function-check',
  'try-catch-fallback',
  'await-insertion',
  'string-coercion',
  'input-validation',
  'const-to-let',
  'rename-to-declared',
] as const;
/** One fix template id. */
export type Strategy = (typeof STRATEGIES)[number];

/** Facts the fault localiser established from the code (not from the error text). */
export const EVIDENCE = ['unawaited-async-call', 'mapped-from-build-output'] as const;
export type Evidence = (typeof EVIDENCE)[number];

const regex = z.string().refine((source) => {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}, 'must be a valid JavaScript regular expression');

const sample = z.object({
  type: z.string(),
  message: z.string(),
  contextLine: z.string().optional(),
  evidence: z.array(z.enum(EVIDENCE)).optional(),
  captures: z.record(z.string(), z.string()).optional(),
});

const ruleSchema = z.object({
  id: z.string().regex(/^[a-z0-9-]+$/),
  errorClass: z.string().min(1),
  priority: z.number().int(),
  match: z.object({
    types: z.array(z.string()).optional(),
    message: regex,
    frame: regex.optional(),
    evidence: z.array(z.enum(EVIDENCE)).optional(),
  }),
  rootCause: z.string().min(1),
  strategies: z.array(z.enum(STRATEGIES)),
  confidence: z.number().min(0).max(1),
  fixtures: z.object({ match: z.array(sample).min(1), noMatch: z.array(sample) }),
});

const catalogSchema = z.object({
  catalog: z.string(),
  version: z.number().int().positive(),
  description: z.string().optional(),
  rules: z.array(ruleSchema).min(1),
});

/** One rule of the catalog, as stored in `libs/fix-kit/src/rules/*.rules.json`. */
export type Rule = z.infer<typeof ruleSchema> & { readonly catalogVersion: string };
/** A rule fixture: an error sample the rule must (or must not) match. */
export type RuleSample = z.infer<typeof sample>;

/** The error facts a rule is matched against. */
export interface ErrorFacts {
  readonly type: string;
  readonly message: string;
  /** Source line of the crashing in-app frame, when known. */
  readonly contextLine?: string;
  readonly evidence?: readonly Evidence[];
}

/** A rule that matched, with the named groups its message expression captured. */
export interface RuleMatch {
  readonly rule: Rule;
  readonly captures: Readonly<Record<string, string>>;
  /** The rule's root-cause statement with `{capture}` placeholders filled in. */
  readonly rootCause: string;
}

/** One rule file: its name (for errors) and its parsed JSON. */
export interface RuleFile {
  readonly name: string;
  readonly content: unknown;
}

/** The rule files shipped with the kit (`libs/fix-kit/src/rules/*.rules.json`), imported as modules: no file is read at run time. */
export const SHIPPED_RULE_FILES: readonly RuleFile[] = [{ name: 'node-runtime.rules.json', content: nodeRuntimeRules }];

/**
 * Validates rule files (parsed JSON) into one catalog, in the order given. Rule ids must be
 * unique across files. Pure.
 * @throws FixKitError `CATALOG_INVALID` naming the file and field when a file is malformed.
 */
export function parseRuleCatalog(files: readonly RuleFile[]): readonly Rule[] {
  const rules: Rule[] = [];
  for (const { name, content } of files) {
    const parsed = catalogSchema.safeParse(content);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new FixKitError('CATALOG_INVALID', `rule file ${name}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`, { cause: parsed.error });
    }
    for (const rule of parsed.data.rules) {
      if (rules.some((r) => r.id === rule.id)) throw new FixKitError('CATALOG_INVALID', `rule file ${name}: duplicate rule id ${rule.id}`);
      rules.push({ ...rule, catalogVersion: `${parsed.data.catalog}@${parsed.data.version}` });
    }
  }
  return rules;
}

let cached: readonly Rule[] | undefined;
/** The shipped catalog, validated once. */
export function defaultRuleCatalog(): readonly Rule[] {
  cached ??= parseRuleCatalog(SHIPPED_RULE_FILES);
  return cached;
}

/**
 * Every rule matching `facts`, best first (priority, then confidence, then id, so the order is
 * deterministic). A rule matches when the exception type is one of its types (if it lists any),
 * its message expression matches, its frame expression matches the crash line (if it has one)
 * and every evidence it requires was established by the localiser.
 */
export function matchRules(rules: readonly Rule[], facts: ErrorFacts): RuleMatch[] {
  const matches: RuleMatch[] = [];
  for (const rule of rules) {
    const { types, message, frame, evidence } = rule.match;
    if (types && !types.includes(facts.type)) continue;
    const m = new RegExp(message).exec(facts.message);
    if (!m) continue;
    if (frame && !(facts.contextLine !== undefined && new RegExp(frame).test(facts.contextLine))) continue;
    if (evidence && !evidence.every((e) => facts.evidence?.includes(e))) continue;
    const captures: Record<string, string> = {};
    for (const [name, value] of Object.entries(m.groups ?? {})) {
      if (value !== undefined) captures[name.replace(/\d+$/, '')] = value;
    }
    matches.push({ rule, captures, rootCause: fill(rule.rootCause, captures) });
  }
  return matches.sort((a, b) => b.rule.priority - a.rule.priority || b.rule.confidence - a.rule.confidence || a.rule.id.localeCompare(b.rule.id));
}

function fill(template: string, captures: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => captures[name] ?? 'the value');
}
