import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A chat-completions request as the fake server received it. */
export interface FakeChatRequest {
  readonly model: string;
  readonly messages: { role: string; content: string }[];
  readonly max_tokens?: number;
  readonly authorization?: string;
}

/** What the fake answers: a reply (with token usage) or an HTTP error. */
export type FakeChatReply = { content: string; promptTokens?: number; completionTokens?: number } | { status: number; error: string };

/** A local HTTP server speaking the OpenAI chat-completions wire protocol, for tests. */
export interface FakeOpenAi {
  /** The base URL to configure (`http://127.0.0.1:<port>/v1`). */
  readonly baseUrl: string;
  readonly requests: FakeChatRequest[];
  close(): Promise<void>;
}

/**
 * Starts the fake on a free port. `reply` decides each answer from the request (so a test can
 * route by model, or behave like a model that follows an injected instruction); a promise holds
 * the answer back until it settles (so a test can act while the call is in flight).
 */
export async function startFakeOpenAi(reply: (request: FakeChatRequest) => FakeChatReply | Promise<FakeChatReply>): Promise<FakeOpenAi> {
  const requests: FakeChatRequest[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' } }));
        return;
      }
      const parsed = JSON.parse(body) as FakeChatRequest;
      const request = { ...parsed, authorization: req.headers.authorization };
      requests.push(request);
      const answer = await reply(request);
      if ('status' in answer) {
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: answer.error, type: 'server_error' } }));
        return;
      }
      const promptTokens = answer.promptTokens ?? Math.ceil(JSON.stringify(parsed.messages).length / 4);
      const completionTokens = answer.completionTokens ?? Math.ceil(answer.content.length / 4);
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: `chatcmpl-${requests.length}`,
          object: 'chat.completion',
          created: 1_700_000_000,
          model: parsed.model,
          choices: [{ index: 0, message: { role: 'assistant', content: answer.content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
          usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
        }),
      );
    })().catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
