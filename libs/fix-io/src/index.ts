// Public API of @antibody/fix-io: the I/O of diagnosis and patching (repositories read through git,
// the fix ledger in Postgres, the model endpoints through the OpenAI SDK), around the pure @antibody/fix-kit.
export { gitRepository, repositoryOpener } from './git';
export type { GitRepository, GitRepositoryOptions } from './git';
export { readProject, readTypeScriptLib } from './project';
export type { ProjectReadOptions } from './project';
export { LEDGER_SUBSCRIPTION, migrateFixLedger, startFixLedger } from './ledger';
export type { FixLedger } from './ledger';
export { callTier } from './llm-client';
export { gatedCall, modelCaller } from './llm-gate';
export type { ModelCallerDeps } from './llm-gate';
