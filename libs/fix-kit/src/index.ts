// Public API of @antibody/fix-kit: the pure diagnosis and patching kit shared by the analyzer and
// the patcher (type:domain: no pg, git, network or filesystem at run time; @antibody/fix-io holds those).
export { analyseError } from './analyse';
export type { AnalyseInput, Analysis } from './analyse';
export { applyEdits, isPatchableFile, parseSource } from './ast';
export { BUILD_DIRS, buildLayouts, looksMinified, mapBuiltFrame, matchBuiltLine, normaliseCodeLine, sourceCandidates, stripTypes, tsBuildSettings, tsconfigPaths } from './built';
export type { BuildLayout, BuiltFrameFacts, BuiltFrameMapping, LineMatch, TsBuildSettings } from './built';
export type { Fallback, TextEdit } from './ast';
export { filesOfDiff, readDiff, unifiedDiff } from './diff';
export type { DiffFile, DiffHunk, ReadDiff } from './diff';
export { FixKitError } from './errors';
export type { FixKitErrorCode } from './errors';
export { localise } from './localise';
export type { FrameFacts, LocaliseInput, Localisation, SourceReader } from './localise';
export { checkPaths, firstMatch, isUnsafePath, matchesGlob, pathRefusal, protectedKindsOf, PROTECTED_PATHS } from './policy';
export type { PathPolicy, PathViolation, ProtectedKind } from './policy';
export { proposeTemplateFixes } from './propose';
export type { CandidatePatch, FixSite, TemplateProposal, TemplateRequest } from './propose';
export { defaultRuleCatalog, EVIDENCE, matchRules, parseRuleCatalog, SHIPPED_RULE_FILES, STRATEGIES } from './rules';
export type { ErrorFacts, Evidence, Rule, RuleFile, RuleMatch, RuleSample, Strategy } from './rules';
export { applyTemplate, badValueAt, findUnawaitedAsyncCalls } from './templates';
export { compilerOptionsFor, configFor, describeDiagnostics, filesToRead, tsconfigCandidates, typeProject } from './typecheck';
export type { CheckDiagnostic, FileChange, ProjectSnapshot, TypeOracle, TypeProject } from './typecheck';
export type { TemplateInput, TemplateResult } from './templates';
export { checkLlmConfig, llmConfigShape, llmSettingsFrom } from './config';
export type { LlmConfig } from './config';
export { applyLearnedTemplate, asLearnedTemplate, generaliseFix } from './generalise';
export type { LearnedTemplate, TemplateToken } from './generalise';
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
export type {
  BudgetExceeded,
  Budgets,
  ChatMessage,
  CheckedLlmPatch,
  CodeExcerpt,
  FailedFixFact,
  GateResult,
  LlmCallResult,
  LlmDiagnosis,
  LlmPatch,
  LlmSettings,
  MeteredCall,
  PriceTable,
  Route,
  Spend,
  TierConfig,
  TierName,
} from './llm';
export { answerFromModel, runTiers, withEscalation } from './pipeline';
export type { ModelReply, ModelRequest, ModelTier, PipelineEvent, TierOutcome } from './pipeline';
