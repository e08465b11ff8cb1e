// Public API of @antibody/domain: the pure folds and decisions every service and the CLI share.
// No Nest, pg, NATS, git, clock or randomness: events and facts in, state and events out.
export {
  chosenFix,
  currentRound,
  failedFixes,
  incidentFold,
  rejectedFixes,
  type FailedFix,
  type IncidentState,
  type IncidentTimes,
  type IncidentStatus,
  type PatchState,
  type RejectedFix,
  type Round,
} from './incident';
export {
  changedPaths,
  decideService,
  notUnderCare,
  serviceFold,
  underCare,
  type IngestKeyState,
  type ServiceCommand,
  type ServiceRegistration,
  type ServiceState,
} from './service';
export {
  decidePatternOutcome,
  evolvePattern,
  foldPatternLibrary,
  nextEstimate,
  PATTERN_EMA_ALPHA,
  PATTERN_INITIAL_ESTIMATE,
  PATTERN_RETIRE_AFTER_USES,
  PATTERN_RETIRE_BELOW,
  shouldRetire,
  type PatternState,
} from './pattern';
export {
  decide as decideJudgement,
  evolve as evolveJudgement,
  evaluate as evaluateStage,
  initialJudgeState,
  validateJudgeConfig,
  DEFAULT_JUDGE_CONFIG,
  JudgeError,
  type ArmCounts,
  type CountsSnapshot,
  type Evidence,
  type JudgeCommand,
  type JudgeConfig,
  type JudgeEvent,
  type JudgeState,
  type JudgeStatus,
  type RollbackCause,
} from './judge';
export { betaBinomialMixtureTest, logMeanExp, sampleRatioZ } from './sequential-test';
export { contractEvidence, evidenceFromRecord, rolloutEvolve, rolloutStartedIn, type RecordedEvidence, type RolloutView } from './rollout';
export {
  decideOperatorCommand,
  mayRun,
  OPERATOR_ROLES,
  operatorTokenFold,
  ROLE_NEEDED,
  type OperatorCommand,
  type OperatorCommandName,
  type OperatorTokenState,
  type Refusal,
} from './operator';
