// Public API of @antibody/fix-kit: the pure diagnosis and patching kit shared by the analyzer and the patcher.
export { analyseError } from './analyse';
export type { AnalyseInput, Analysis } from './analyse';
export { applyEdits, isPatchableFile, parseSource } from './ast';
export type { TextEdit } from './ast';
export { filesOfDiff, unifiedDiff } from './diff';
export { failedFixes, rejectedFixes } from './failed-fixes';
export type { FailedFix, FailedFixEvent, RejectedFix } from './failed-fixes';
export { FixKitError } from './errors';
export type { FixKitErrorCode } from './errors';
export { localise } from './localise';
export type { FrameFacts, LocaliseInput, Localisation, SourceReader } from './localise';
export { globToRegExp, pathRefusal, PROTECTED_PATHS } from './policy';
export type { PathPolicy } from './policy';
export { proposeTemplateFixes } from './propose';
export type { CandidatePatch, FixSite, TemplateProposal, TemplateRequest } from './propose';
export { defaultRuleCatalog, EVIDENCE, loadRuleCatalog, matchRules, RULES_DIR, STRATEGIES } from './rules';
export type { ErrorFacts, Evidence, Rule, RuleMatch, RuleSample, Strategy } from './rules';
export { applyTemplate, badValueAt, findUnawaitedAsyncCalls } from './templates';
export type { TemplateInput, TemplateResult } from './templates';
export { checkLlmConfig, llmConfigShape, llmSettingsFrom } from './config';
export type { LlmConfig } from './config';
export { applyLearnedTemplate, asLearnedTemplate, generaliseFix } from './generalise';
export type { LearnedTemplate, TemplateToken } from './generalise';
export { gitRepository, repositoryOpener } from './git';
export type { GitRepository, GitRepositoryOptions } from './git';
export { LEDGER_SUBSCRIPTION, migrateFixLedger, startFixLedger } from './ledger';
export type { FixLedger } from './ledger';
export {
  budgetRefusal,
  exceededBudget,
  checkLlmPatch,
  costOf,
  diagnosisPrompt,
  estimateCost,
  excerpt,
  llmDiagnosisSchema,
  llmPatchSchema,
  parseModelJson,
  patchPrompt,
  routeTier,
  scrub,
  SENSITIVE_PATH,
  TIERS,
} from './llm';
export type { BudgetExceeded, Budgets, CheckedLlmPatch, CodeExcerpt, FailedFixFact, LlmDiagnosis, LlmPatch, LlmSettings, PriceTable, Route, Spend, TierConfig, TierName } from './llm';
export { callTier } from './llm-client';
export type { LlmCallResult } from './llm-client';
export { gatedCall, incidentSpend } from './llm-gate';
export type { GateResult, MeteredCall } from './llm-gate';
export { foldService } from './registry';
export type { ServiceFacts } from './registry';
