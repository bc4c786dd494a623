// The OpenAI request bodies the engine accepts: the router's own schemas (src/api/openai-api.ts, one source of
// truth), with `model` optional as llama-server has it, plus llama.cpp's `ignore_eos`. Errors name the field.
import { z } from 'zod';
import { chatCompletionBody, completionBody, firstProblem } from '../../src/api/openai-api.ts';

export type Endpoint = 'chat' | 'completions';

export interface ChatMessage {
  role: string;
  content?: unknown;
  tool_calls?: unknown;
}

export type PromptInput =
  | { kind: 'chat'; messages: ChatMessage[]; tools?: unknown[] }
  | { kind: 'text'; text: string }
  | { kind: 'tokens'; tokens: number[] };

export interface EngineRequest {
  endpoint: Endpoint;
  /** The requested model name, echoed in responses (llama-server serves one model whatever the name). */
  model: string | undefined;
  prompt: PromptInput;
  /** Cap on generated tokens; undefined: the engine's default. */
  maxTokens: number | undefined;
  stream: boolean;
  includeUsage: boolean;
  /** Keep generating past end-of-sequence (the engine's default: random weights end at once otherwise). */
  ignoreEos: boolean;
  /** 0 or absent: greedy, the cheapest sampler. */
  temperature: number | undefined;
  topP: number | undefined;
  seed: number | undefined;
  /** Stop strings: generation ends where one appears, and the text stops before it. */
  stop: string[];
}

/** A request the engine refuses, with llama-server's error type and a string code (the project's error shape). */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly status = 400,
    readonly type = 'invalid_request_error',
    readonly param: string | null = null,
    readonly code = 'invalid_request',
  ) {
    super(message);
  }
}

const engineFields = { model: z.string().nullish(), ignore_eos: z.boolean().nullish() };
const chatSchema = chatCompletionBody.extend(engineFields);
const completionSchema = completionBody.extend(engineFields);

function parsed<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const { param, message } = firstProblem(r.error);
  throw new EngineError(`${param}: ${message}`, 400, 'invalid_request_error', param, 'invalid_value');
}

export function parseEngineRequest(endpoint: Endpoint, body: unknown): EngineRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new EngineError('The request body must be a JSON object.', 400, 'invalid_request_error', null, 'invalid_json');
  }
  let prompt: PromptInput;
  let c: z.infer<typeof chatSchema> | z.infer<typeof completionSchema>;
  let maxTokens: number | undefined;
  if (endpoint === 'chat') {
    const r = parsed(chatSchema, body);
    c = r;
    maxTokens = r.max_completion_tokens ?? r.max_tokens;
    prompt = { kind: 'chat', messages: r.messages, tools: r.tools };
  } else {
    const r = parsed(completionSchema, body);
    c = r;
    maxTokens = r.max_tokens ?? 16; // OpenAI's default for /v1/completions
    const p = r.prompt;
    if (typeof p === 'string') prompt = { kind: 'text', text: p };
    else if (p.length === 0) throw new EngineError('prompt: must not be empty', 400, 'invalid_request_error', 'prompt', 'invalid_value');
    else if (typeof p[0] === 'number') prompt = { kind: 'tokens', tokens: p as number[] };
    else if (p.length === 1) prompt = typeof p[0] === 'string' ? { kind: 'text', text: p[0] } : { kind: 'tokens', tokens: p[0] as number[] };
    else throw new EngineError('prompt: the engine takes exactly one prompt per request.', 400, 'invalid_request_error', 'prompt', 'invalid_value');
  }
  if (c.n !== undefined && c.n !== 1) throw new EngineError('n: the engine supports n=1 only.', 400, 'invalid_request_error', 'n', 'invalid_value');
  const stream = c.stream === true;
  return {
    endpoint,
    model: c.model ?? undefined,
    prompt,
    maxTokens,
    stream,
    includeUsage: stream && c.stream_options?.include_usage === true,
    ignoreEos: c.ignore_eos !== false,
    temperature: c.temperature,
    topP: c.top_p,
    seed: c.seed,
    stop: (typeof c.stop === 'string' ? [c.stop] : (c.stop ?? [])).filter((x) => x.length > 0),
  };
}
