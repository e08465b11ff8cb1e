// @antibody/fix-kit/testing: the corpus runner shared by the patcher's corpus spec and the diagnose bench.
export { caseReader, diagnoseAndPropose, framesOf, loadCorpus, mapLimit, runCase, runCaseTests } from './corpus';
export type { CaseOutcome, CorpusCase, TestRun } from './corpus';
export { createTempRepo } from './git';
export type { TempRepo } from './git';
export { startFakeOpenAi } from './fake-openai';
export type { FakeChatReply, FakeChatRequest, FakeOpenAi } from './fake-openai';
