// @antibody/fix-io/testing: a throw-away git repository and a local server speaking the OpenAI chat-completions protocol.
export { createTempRepo } from './git';
export type { TempRepo } from './git';
export { startFakeOpenAi } from './fake-openai';
export type { FakeChatReply, FakeChatRequest, FakeOpenAi } from './fake-openai';
