import { decidePolicy, isRejection, rejectionEvent, verdictEvent, type Rejection, type VerdictEvent } from '../domain/steps';
import type { ValidationRequest } from '../domain/validation';
import { decideVerdict } from '../domain/verdict';
import { risksOfDiff } from '../domain/violations';
import { ValidationStore } from '../infrastructure/validation-store';
import {
  applyPatch,
  baseline,
  buildPatched,
  checkApplies,
  enterSandbox,
  install,
  prepare,
  checkBehaviour,
  recordBehaviour,
  reproduceCallOnBaseline,
  reproduceCallOnPatched,
  reproduceOnBaseline,
  reproduceOnPatched,
  testPatched,
  ValidationLog,
  type ValidationSettings,
} from '../infrastructure/validation-steps';
import type { Workspaces } from '../infrastructure/workspace';

export type { ServiceUnderCare, ValidationRequest } from '../domain/validation';
export type { VerdictEvent } from '../domain/steps';
export type { ValidationSettings } from '../infrastructure/validation-steps';

/** What {@link validatePatch} uses. */
export interface ValidationDeps {
  readonly workspaces: Workspaces;
  readonly store: ValidationStore;
  readonly settings: ValidationSettings;
  /** Milliseconds since some origin; passed in so that timing stays out of the decision. */
  readonly now: () => number;
}

/**
 * Validates one patch end to end, as named steps: policy (the paths it touches), prepare (the
 * release's commit in a worktree), install (dependencies, cached by lockfile or manifest hash),
 * apply (`git apply --check`), baseline (build and tests of the unpatched tree, cached per commit
 * and commands), the captured call made again on the baseline (the reproduction gate), the
 * suite's calls to the changed modules recorded and replayed (the differential check), the
 * generated regression test on the baseline, the patch applied, build and tests of the patched
 * tree (re-runs tell flaky tests), the regression test, the captured call and the recorded calls
 * with the patch, and the verdict. Every step's full output goes to the logs table; the verdict
 * carries excerpts.
 *
 * Expected outcomes (the patch does not apply, a forbidden path, a failing build, a contained
 * patch, nothing to prove it with) become a `PatchRejected` or `PatchUnproven` event; only
 * infrastructure failures (database, filesystem, git failing for its own reason, a sandbox that
 * cannot start) throw, so the caller retries.
 */
export async function validatePatch(request: ValidationRequest, deps: ValidationDeps): Promise<VerdictEvent> {
  const { store, workspaces, settings } = deps;
  const { service, diff, patchId } = request;
  const log = await ValidationLog.start(store, patchId, deps.now);
  const rejected = (rejection: Rejection): VerdictEvent => rejectionEvent(patchId, rejection, log.evidence());

  const policy = decidePolicy(diff, service.policy);
  if (policy) return rejected(policy);

  const checkout = await prepare(workspaces, service, request.release, log);
  if (isRejection(checkout)) return rejected(checkout);

  const workspace = await workspaces.create(checkout.mirror, checkout.commit, patchId.slice(0, 8));
  try {
    const run = await enterSandbox(workspaces, workspace, settings, log);

    const dependencies = await install(run, service.commands.install);
    if (isRejection(dependencies)) return rejected(dependencies);

    const applies = await checkApplies(run, diff);
    if (applies) return rejected(applies);

    const unpatched = await baseline(run, { service, commit: checkout.commit, store, ...dependencies });
    if (isRejection(unpatched)) return rejected(unpatched);

    const call = await reproduceCallOnBaseline(run, { baseline: unpatched, ...(request.failure ? { failure: request.failure } : {}), ...(service.commands.build ? { build: service.commands.build } : {}) });
    if (isRejection(call)) return rejected(call);
    const behaviour = await recordBehaviour(run, { diff, packageJson: unpatched.packageJson, test: service.commands.test });
    const reproduction = await reproduceOnBaseline(run, { patchId, packageJson: unpatched.packageJson, ...(request.failure ? { failure: request.failure } : {}) });

    await applyPatch(run, diff);
    const built = await buildPatched(run, service.commands.build);
    if (built) return rejected(built);

    const tests = await testPatched(run, { command: service.commands.test, framework: unpatched.framework, baseline: unpatched.summary });
    const reproduced = await reproduceOnPatched(run, reproduction);
    const callWithPatch = await reproduceCallOnPatched(run, call);
    const kept = await checkBehaviour(run, behaviour);

    const verdict = decideVerdict({
      baseline: unpatched.summary,
      patched: tests.patched,
      reruns: tests.reruns,
      reproduction: reproduced,
      call: callWithPatch,
      behaviour: kept,
      allowedErrors: service.policy.allowedErrors ?? [],
      risks: risksOfDiff(diff).map((r) => `${r.risk} (${r.file}: ${r.line})`),
    });
    return verdictEvent(patchId, verdict, log.evidence());
  } finally {
    await workspaces.remove(workspace);
  }
}
