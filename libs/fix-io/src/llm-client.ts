import OpenAI from 'openai';
import { costOf, FixKitError, type ChatMessage, type LlmCallResult, type PriceTable, type TierConfig, type TierName } from '@antibody/fix-kit';

/**
 * Calls a tier's OpenAI-compatible chat-completions endpoint through the `openai` SDK
 * (temperature 0, JSON reply requested) and prices the reported token usage. A reply without
 * `usage` is priced from its length (4 characters a token) so spend is never zero by omission.
 * Throws FixKitError `LLM_CALL_FAILED` when the endpoint fails or answers without content.
 */
export async function callTier(
  tier: TierName,
  config: TierConfig,
  messages: readonly ChatMessage[],
  options: { prices: PriceTable; maxOutputTokens: number; timeoutMs?: number },
): Promise<LlmCallResult> {
  const client = new OpenAI({ baseURL: config.baseUrl, apiKey: config.apiKey, maxRetries: 1, timeout: options.timeoutMs ?? 60_000 });
  let response: OpenAI.Chat.Completions.ChatCompletion;
  try {
    response = await client.chat.completions.create({
      model: config.model,
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      max_tokens: options.maxOutputTokens,
      temperature: 0,
      response_format: { type: 'json_object' },
    });
  } catch (error) {
    throw new FixKitError('LLM_CALL_FAILED', `${tier} tier (${config.model}) call failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const content = response.choices[0]?.message?.content ?? '';
  const promptChars = messages.reduce((n, m) => n + m.content.length, 0);
  const promptTokens = response.usage?.prompt_tokens ?? Math.ceil(promptChars / 4);
  const completionTokens = response.usage?.completion_tokens ?? Math.ceil(content.length / 4);
  const model = config.model;
  return { tier, model, content, promptTokens, completionTokens, costUsd: costOf(model, { promptTokens, completionTokens }, options.prices) };
}
