// @antibody/fix-kit/testing: the corpus runner shared by the patcher's corpus spec and the diagnose bench
// (repositories and the fake model endpoint are in @antibody/fix-io/testing).
export { caseReader, diagnoseAndPropose, framesOf, loadCorpus, mapLimit, runCase, runCaseTests } from './corpus';
export type { CaseOutcome, CorpusCase, TestRun } from './corpus';
