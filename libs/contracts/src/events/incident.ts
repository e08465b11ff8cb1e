import { z } from 'zod';
import { incidentIdSchema, patchIdSchema, patternIdSchema, serviceNameSchema } from '../ids';
import { count, jsonValue, probability, text, timestamp, usd } from '../primitives';

/** The step of the healing loop an escalation, decision or LLM call is about. */
export const healingStepSchema = z.enum(['ingest', 'diagnosis', 'patch', 'validation', 'rollout']);

const exception = z.object({
  type: text.describe('Exception class, e.g. `TypeError`.'),
  value: z.string().describe('Exception message (may be empty).'),
});

/** One stack frame, in Sentry's shape. */
export const stackFrameSchema = z.object({
  filename: text,
  function: z.string().optional(),
  lineno: z.number().int().positive().optional(),
  colno: z.number().int().positive().optional(),
  inApp: z.boolean().describe('True when the frame is in the application code (not a dependency or the runtime).'),
  contextLine: z.string().optional(),
  preContext: z.array(z.string()).optional(),
  postContext: z.array(z.string()).optional(),
  module: z.string().optional(),
  vars: z
    .record(z.string(), jsonValue)
    .optional()
    .describe("The frame's local variables as the SDK sent them (Sentry's `includeLocalVariables`), scrubbed: nested values may be cut short."),
});

/**
 * A value of a captured call, as JSON: plain JSON stands for itself; an object with one `$`-key
 * stands for what JSON cannot hold (`{"$undefined": true}`, `{"$bigint": "12"}`, `{"$number":
 * "NaN"}`, `{"$date": "…"}`, `{"$regexp": ["a+", "g"]}`, `{"$map": [[k, v], …]}`, `{"$set": […]}`,
 * `{"$symbol": "id"}`, `{"$nullProto": {…}}`, `{"$function": "name"}`, `{"$sparse": {"length": 3,
 * "items": {"0": 1}}}` for an array with holes, `{"$instance": ["Intl.Segmenter", [args]]}` for a
 * built-in object (Intl.Segmenter, Intl.Collator, Intl.DateTimeFormat, Intl.NumberFormat, URL,
 * URLSearchParams, Uint8Array, Buffer), `{"$literal": {…}}` for an object whose own key starts with
 * `$`). Decoded by the validator's reproduction harness.
 */
export const capturedValueSchema = jsonValue;

/** The call that failed, as the application names it, so the validator can make it again. */
export const capturedCallSchema = z.object({
  module: text.describe('What the application loaded: its package name (`mri`, `@scope/pkg`), optionally with a subpath, or a path in the repository (`src/cart.ts`).'),
  export: z.string().describe('The export called, dotted for a member (`default`, `parse`, `CronExpressionParser.parse`); empty for the module itself when it is a function.'),
  construct: z.boolean().optional().describe('Called with `new` (a class).'),
  args: z.array(capturedValueSchema).describe('The arguments, encoded as `capturedValueSchema` says.'),
});

const percent = z.number().gt(0).max(100);

/** Counts of one release (canary or stable) as the judge reads them. */
export const armCountsSchema = z.object({
  requests: count,
  errors: count,
  slow: count.describe("Requests slower than stable's pre-rollout p95."),
});

const canaryEvidence = z.object({
  errorRate: z.object({ baseline: probability, canary: probability }),
  logLikelihoodRatio: z.number().optional().describe('Sequential test statistic; above the upper bound means the canary is worse.'),
  stage: percent.optional().describe('Canary traffic percentage of the stage this evidence was gathered at.'),
  stageElapsedMs: count.optional(),
  counts: z.object({ canary: armCountsSchema, stable: armCountsSchema }).optional().describe('Counts within the stage judged.'),
  logEValue: z
    .object({ errors: z.number(), latency: z.number(), combined: z.number() })
    .optional()
    .describe('ln of the anytime-valid e-values (beta-binomial mixture), multiplied across stages so far.'),
  logThreshold: z.number().optional().describe('ln(1/alpha): the canary is rolled back when logEValue.combined reaches it.'),
  srmZ: z.number().optional().describe('Sample-ratio mismatch z of the request split; large |z| makes the stage inconclusive.'),
  worseBy: z
    .object({ errors: z.number(), slow: z.number() })
    .optional()
    .describe('Anytime-valid upper bounds on canary rate − stable rate in the stage (errors, slow requests): a stage advances only when they are below the margins.'),
});

const SOURCE_ID = { rule: 'ruleId', pattern: 'patternId', template: 'templateId', llm: 'model' } as const;
type SourceIds = Partial<Record<(typeof SOURCE_ID)[keyof typeof SOURCE_ID], string>>;

/** Requires the id naming what produced a result (rule, pattern, template or model) to match `source`. */
function requireSourceId(data: SourceIds & { source: keyof typeof SOURCE_ID }, ctx: z.RefinementCtx): void {
  const needed = SOURCE_ID[data.source];
  if (data[needed] === undefined) {
    ctx.addIssue({ code: 'custom', path: [needed], message: `${needed} is required when source is "${data.source}"` });
  }
}

export const incidentOpened = z.object({
  incidentId: incidentIdSchema,
  service: serviceNameSchema,
  fingerprint: text.describe('Stable hash grouping errors of the same kind.'),
  exception,
  release: text.optional(),
  environment: text.optional(),
  culprit: text.optional().describe('Where the error most likely comes from, e.g. `src/cart.ts in total`.'),
  firstSeen: timestamp,
});

export const errorRecorded = z.object({
  exception,
  frames: z.array(stackFrameSchema).describe('Stack frames, oldest call first (the crashing frame is last), as in Sentry.'),
  request: z
    .object({
      method: text,
      url: text,
      headers: z.record(z.string(), z.string()).optional(),
      data: jsonValue.optional(),
    })
    .optional(),
  call: capturedCallSchema
    .optional()
    .describe("The failing call, when the application named it (the native API's `call`, or the Sentry event's `contexts.antibody.call`): the validator's reproduction makes it again."),
  tags: z.record(z.string(), z.string()),
  release: text.optional(),
  environment: text.optional(),
  sdk: z.object({ name: text, version: text }).optional(),
  receivedAt: timestamp,
}).describe('One scrubbed error sample.');

export const occurrencesCounted = z.object({
  bucketStart: timestamp,
  bucketSeconds: z.number().int().positive(),
  count: z.number().int().positive(),
});

export const incidentReopened = z.object({
  reason: text,
  release: text.optional(),
});

export const diagnosisMade = z
  .object({
    rootCause: text.describe('The root cause, in a sentence or two.'),
    location: z.object({ file: text, line: z.number().int().positive(), function: text.optional() }),
    source: z.enum(['pattern', 'rule', 'llm']),
    ruleId: text.optional(),
    patternId: patternIdSchema.optional(),
    model: text.optional(),
    confidence: probability,
    costUsd: usd.optional(),
    errorClass: text.optional().describe('The class of error diagnosed (the rule catalog\'s errorClass), e.g. `TypeError:undefined-property-access`.'),
    commit: z.string().regex(/^[0-9a-f]{7,64}$/, 'expected a hex commit sha').optional().describe('The commit whose code was analysed (the incident\'s release).'),
    captures: z.record(z.string(), z.string()).optional().describe('Values the rule extracted from the error message (e.g. the property name).'),
    sites: z
      .array(
        z.object({
          file: text,
          line: z.number().int().positive(),
          function: text.optional(),
          suspect: text.optional().describe('The expression holding the bad value at that line.'),
          weight: probability.describe('How strongly the fix belongs here (1 = where it belongs).'),
        }),
      )
      .optional()
      .describe('Candidate fix sites found by fault localisation, best first (the crash frame and its callers).'),
    evidence: z.array(text).optional().describe('Facts established from the code, e.g. `unawaited-async-call`.'),
    notes: z.array(text).optional().describe('The localisation reasoning, one step per entry.'),
  })
  .superRefine(requireSourceId);

export const diagnosisFailed = z.object({
  reason: text,
  costUsd: usd.optional(),
});

/** A candidate the patcher dropped before proposing it, because it added compiler diagnostics. */
const droppedCandidate = z.object({
  source: z.enum(['template', 'pattern', 'llm']),
  templateId: text.optional(),
  patternId: patternIdSchema.optional(),
  files: z.array(text).min(1),
  diagnostics: z
    .array(z.object({ file: text, line: z.number().int().positive(), code: z.number().int().nonnegative().describe('The TypeScript diagnostic code (TS2322 -> 2322).'), message: text }))
    .min(1)
    .describe('The first diagnostics the candidate added (compared with the same files at the commit), at most five.'),
});

/** Candidates dropped by the type check, on the rank-1 PatchProposed or on PatchFailed. */
const droppedCandidates = z.array(droppedCandidate).optional().describe('Candidates dropped before proposal because they do not type-check (or, for JavaScript, parse) where the code at the commit did.');

export const patchProposed = z
  .object({
    patchId: patchIdSchema,
    diff: text.describe('Unified diff against the default branch.'),
    files: z.array(text).min(1),
    rationale: text,
    source: z.enum(['template', 'pattern', 'llm']),
    templateId: text.optional(),
    patternId: patternIdSchema.optional(),
    model: text.optional(),
    rank: z.number().int().positive().describe('1 is the best candidate.'),
    confidence: probability,
    costUsd: usd.optional(),
    baseCommit: z.string().regex(/^[0-9a-f]{7,64}$/, 'expected a hex commit sha').optional().describe('The commit the diff applies to (the analysed release).'),
    errorClass: text.optional().describe('The class of error the patch fixes (carried from the diagnosis, used by pattern learning).'),
    dropped: droppedCandidates,
  })
  .superRefine(requireSourceId);

export const patchFailed = z.object({
  reason: text,
  costUsd: usd.optional(),
  dropped: droppedCandidates,
});

/** Status of one test on the unpatched baseline or the patched tree; `flaky`: it both passed and failed on re-runs. */
const testStatus = z.enum(['passed', 'failed', 'skipped', 'flaky']);

/** One test's result in a validation: its status with the patch, and (additively) on the baseline. */
const validationTest = z.object({
  name: text,
  status: testStatus,
  durationMs: count,
  baseline: testStatus.optional().describe('The status on the unpatched baseline; absent when the test did not exist there (e.g. the reproduction).'),
  message: z.string().optional().describe('First lines of the failure message, truncated.'),
});

/** Every test's status counted (the `tests` list may be cut short for size; these never are). */
const testCounts = z.object({ total: count, passed: count, failed: count, skipped: count, flaky: count });

/** How one run of the captured call ended in the validator's reproduction harness. */
const callOutcome = z.object({
  outcome: z.enum(['threw', 'returned', 'harness-failed']).describe('`harness-failed`: the harness could not make the call (load, export, timeout): it proves nothing.'),
  type: z.string().optional().describe('The exception thrown.'),
  message: z.string().optional(),
  frame: z.string().optional().describe('Innermost frame of the repository in the exception, `file:line in function`.'),
  reason: z.string().optional().describe('Why the harness failed.'),
});

/** The captured failure made again, framework-independent, on the baseline and on the patched tree. */
const reproducedCall = z.object({
  module: text.describe('The module the harness loaded, as a path in the repository.'),
  export: z.string(),
  input: z.enum(['call', 'request', 'locals']).describe("Where the arguments came from: the report's `call`, the request data, or the frame's local variables."),
  baseline: callOutcome,
  patched: callOutcome.optional(),
});

/** The reproduction of the captured failure: the harness's call, and the regression test built from it. */
const validationReproduction = z.object({
  status: z
    .enum(['reproduced', 'not-reproduced', 'skipped'])
    .describe('`reproduced`: the captured failure recurred before the patch (same exception at the same frame) and not with it.'),
  testFile: text.optional(),
  reason: z.string().optional().describe('Why no reproduction was built, or how it behaved, in plain words.'),
  diff: z.string().optional().describe('The regression test as a unified diff; it becomes part of the patch.'),
  call: reproducedCall.optional().describe("The harness's runs of the captured call (absent in verdicts recorded before it existed)."),
});

/** A truncated log of one validation step; the full text is kept and retrievable with `antibody logs <patchId>`. */
const validationLog = z.object({
  step: text.describe('e.g. `install`, `build`, `test:baseline`, `test:patched`.'),
  exitCode: z.number().int().nullable(),
  excerpt: z.string(),
  truncated: z.boolean(),
});

const sandboxEnforcement = {
  network: z.enum(['none', 'loopback-only', 'host']),
  writes: z.enum(['worktree-and-temp', 'unrestricted']),
  user: z.enum(['unprivileged', 'same-as-validator']),
  limits: z.array(text).describe('Limits in force, e.g. `timeout 600s`, `address-space 2GiB`, `processes 256`.'),
};

/**
 * What the sandbox enforced for this validation (it depends on the host's privileges). The
 * top-level fields are the test runs' (the runs that judge the patch); `steps` lists each step's
 * own, since the install step gets the host's network and a longer time limit.
 */
const validationSandbox = z.object({
  ...sandboxEnforcement,
  steps: z
    .array(z.object({ step: text.describe('The step, as in `logs`: `install`, `build:baseline`, `test:patched`, …'), ...sandboxEnforcement }))
    .optional()
    .describe('What was enforced for each step that ran, in order (absent in verdicts recorded before it existed).'),
});

export const patchValidated = z.object({
  patchId: patchIdSchema,
  tests: z.array(validationTest).describe('Per-test results, at most 1000 (the full list is in the validation logs).'),
  counts: testCounts.optional().describe('Every test counted (absent in verdicts recorded before it existed).'),
  reproduction: validationReproduction,
  logsRef: text.optional().describe('Where the full validation logs are kept.'),
  commit: text.optional().describe('The release commit the patch was validated against.'),
  flakyTests: z.array(text).optional().describe('Tests that both passed and failed on re-runs: not blamed on the patch.'),
  logs: z.array(validationLog).optional(),
  sandbox: validationSandbox.optional(),
  durationMs: count.optional(),
});

export const patchUnproven = z.object({
  patchId: patchIdSchema,
  reason: text.describe('Why the captured failure could not be made again to prove the patch, in plain words.'),
  tests: z.array(validationTest),
  counts: testCounts.optional(),
  reproduction: validationReproduction,
  logsRef: text.optional(),
  commit: text.optional(),
  flakyTests: z.array(text).optional(),
  logs: z.array(validationLog).optional(),
  sandbox: validationSandbox.optional(),
  durationMs: count.optional(),
});

export const patchRejected = z.object({
  patchId: patchIdSchema,
  reason: text,
  failingTests: z.array(text),
  stage: z
    .enum(['prepare', 'apply', 'policy', 'install', 'build', 'baseline', 'tests', 'behaviour', 'reproduction'])
    .optional()
    .describe('The validation step that rejected the patch (`behaviour`: a call that worked on the baseline returns something else with the patch).'),
  violations: z.array(text).optional().describe('Sandbox or policy violations observed, each in plain words.'),
  tests: z.array(validationTest).optional(),
  counts: testCounts.optional(),
  reproduction: validationReproduction.optional(),
  flakyTests: z.array(text).optional(),
  logs: z.array(validationLog).optional(),
  logsRef: text.optional(),
  commit: text.optional(),
  sandbox: validationSandbox.optional(),
  durationMs: count.optional(),
});

export const fixCommitted = z.object({
  patchId: patchIdSchema,
  branch: text,
  commitSha: z.string().regex(/^[0-9a-f]{7,64}$/, 'expected a hex commit sha'),
  pullRequestUrl: z.url().optional(),
});

const countsSnapshot = z
  .object({ canary: armCountsSchema, stable: armCountsSchema })
  .describe('Cumulative counts per release since the canary started, as the deploy adapter read them.');

export const rolloutStarted = z.object({
  patchId: patchIdSchema,
  release: text,
  stages: z.array(percent).min(1).describe('Traffic percentages, in order; the last is usually 100.'),
  at: timestamp.optional().describe("The judge's clock when the first stage started (the rollout is resumed from it after a deployer restart)."),
  baseline: countsSnapshot.optional().describe('Cumulative counts when the first stage started: the first stage is judged on the counts since.'),
  judge: z
    .object({
      minDwellMs: count,
      minCanaryRequests: count,
      stageDeadlineMs: count,
      alpha: probability,
      priorConcentration: z.number().positive(),
      errorRateCeiling: probability,
      ceilingMinRequests: count,
      srmMaxZ: z.number().positive(),
      judgeLatency: z.boolean(),
      errorRateMargin: probability.optional().describe('A stage advances only when the canary error rate is shown within this of stable\'s.'),
      slowShareMargin: probability.optional().describe('The same margin on the share of slow requests.'),
      promotionAlpha: probability.optional().describe('The chance of advancing a stage whose canary is worse than stable by more than a margin.'),
    })
    .optional()
    .describe('The judge settings of this rollout, so that a resumed rollout is judged by the same rules.'),
});

export const stageAdvanced = z.object({
  patchId: patchIdSchema,
  stage: percent.describe('The traffic percentage now served by the canary.'),
  evidence: canaryEvidence,
  at: timestamp.optional().describe("The judge's clock when the new stage started."),
  snapshot: countsSnapshot.optional().describe('Cumulative counts when the new stage started: it is judged on the counts since.'),
});

export const rolledBack = z.object({
  patchId: patchIdSchema,
  reason: text,
  stage: percent.describe('The traffic percentage at which the rollout stopped.'),
  evidence: canaryEvidence.optional(),
  cause: z
    .enum(['error-regression', 'latency-regression', 'error-ceiling', 'no-evidence-by-deadline', 'inconclusive-by-deadline', 'aborted', 'rejected'])
    .optional()
    .describe('Why the judge (or a person) stopped the rollout.'),
  trace: z.array(canaryEvidence).optional().describe("The judge's evidence at each stage change, ending with the rollback."),
});

export const rolloutCompleted = z.object({
  patchId: patchIdSchema,
  release: text,
  evidence: canaryEvidence.optional().describe('The evidence of the last judged stage.'),
  trace: z.array(canaryEvidence).optional(),
});

export const incidentResolved = z.object({
  resolution: z
    .enum(['deployed', 'committed', 'manual'])
    .describe('`deployed`: rolled out to 100%; `committed`: fix merged by its owners; `manual`: closed by a person.'),
  patchId: patchIdSchema.optional(),
});

export const incidentEscalated = z.object({
  reason: text,
  step: healingStepSchema,
  budgetExceeded: z
    .object({
      scope: z.enum(['incident', 'daily', 'monthly']).describe("Which of the service policy's budgets was exhausted."),
      limitUsd: usd,
      spentUsd: usd,
    })
    .optional()
    .describe('Set when the loop stopped because a cost budget was exhausted (the deployer sends a "budget exceeded" notice).'),
});

export const diagnosisRequested = z.object({
  reason: text,
  step: healingStepSchema.describe('The step that sent the incident back to diagnosis (`rollout` after a rollback).'),
  excludePatchIds: z.array(patchIdSchema).min(1).describe('Patches known to have failed in production: the next diagnosis and patch must differ from them.'),
  release: text.optional().describe('The release that was rolled back.'),
});

export const decisionRecorded = z.object({
  by: text.describe('The person who decided (user name or e-mail).'),
  decision: z.enum(['approve', 'reject', 'retry']),
  step: healingStepSchema,
  patchId: patchIdSchema.optional(),
  comment: text.optional(),
});

export const llmCallMetered = z.object({
  model: text,
  tier: text.describe('The escalation tier that made the call, e.g. `small`, `large`.'),
  step: healingStepSchema,
  promptTokens: count,
  completionTokens: count,
  costUsd: usd,
});

/** Data schemas of the `incident-<id>` stream, by event type. */
export const incidentEventSchemas = {
  IncidentOpened: incidentOpened,
  ErrorRecorded: errorRecorded,
  OccurrencesCounted: occurrencesCounted,
  IncidentReopened: incidentReopened,
  DiagnosisMade: diagnosisMade,
  DiagnosisFailed: diagnosisFailed,
  PatchProposed: patchProposed,
  PatchFailed: patchFailed,
  PatchValidated: patchValidated,
  PatchRejected: patchRejected,
  PatchUnproven: patchUnproven,
  FixCommitted: fixCommitted,
  RolloutStarted: rolloutStarted,
  StageAdvanced: stageAdvanced,
  RolledBack: rolledBack,
  RolloutCompleted: rolloutCompleted,
  IncidentResolved: incidentResolved,
  IncidentEscalated: incidentEscalated,
  DecisionRecorded: decisionRecorded,
  DiagnosisRequested: diagnosisRequested,
  LlmCallMetered: llmCallMetered,
} as const;
