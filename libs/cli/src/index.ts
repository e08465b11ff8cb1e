// Public API of @antibody/cli: the `antibody` program, runnable in-process, and its formatting.
export { buildProgram, runCli, type CliContext } from './program';
export { formatStreamHeader, formatTimelineLine, summarise, shortId, SUMMARY_MAX_CHARS, type SummarisableEvent, type TimelineLineOptions } from './format';
export { breachLine } from './commands/verify';
export { EXIT } from './errors';
export type { TextSink } from './output';
