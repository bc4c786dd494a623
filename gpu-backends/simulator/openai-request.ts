// Parses and validates the OpenAI request bodies the simulator accepts, the way vLLM's OpenAI server does:
// unknown fields are ignored, wrong types and impossible values are 400s with an OpenAI-style error.
import { z } from 'zod';
import { renderChatPrompt, renderCompletionPrompt, renderResponsesPrompt } from './chat-template.ts';

const contentPart = z.object({ type: z.string(), text: z.string().optional() });
const message = z.object({
  role: z.string(),
  content: z.union([z.string(), z.array(contentPart)]).nullable().optional(),
  name: z.string().optional(),
  tool_calls: z.array(z.unknown()).optional(),
  tool_call_id: z.string().optional(),
});

const common = {
  model: z.string().optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z
    .object({ include_usage: z.boolean().nullable().optional(), continuous_usage_stats: z.boolean().nullable().optional() })
    .nullable()
    .optional(),
  max_tokens: z.number().int().nullable().optional(),
  n: z.number().int().nullable().optional(),
  /** vLLM extension: generate exactly max_tokens (no natural stop). */
  ignore_eos: z.boolean().nullable().optional(),
};

const chatSchema = z.object({
  ...common,
  messages: z.array(message).min(1, 'messages must contain at least one message'),
  max_completion_tokens: z.number().int().nullable().optional(),
  tools: z.array(z.unknown()).nullable().optional(),
});

const completionSchema = z.object({
  ...common,
  prompt: z.union([z.string(), z.array(z.string()), z.array(z.number().int()), z.array(z.array(z.number().int()))]),
});

const responsesItem = z.looseObject({ type: z.string().optional(), role: z.string().optional(), content: z.union([z.string(), z.array(contentPart)]).nullable().optional() });

const responsesSchema = z.object({
  model: z.string().nullable().optional(),
  input: z.union([z.string(), z.array(responsesItem)]),
  instructions: z.string().nullable().optional(),
  stream: z.boolean().nullable().optional(),
  max_output_tokens: z.number().int().nullable().optional(),
  temperature: z.number().nullable().optional(),
  top_p: z.number().nullable().optional(),
  tools: z.array(z.unknown()).nullable().optional(),
  tool_choice: z.unknown().optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
  previous_response_id: z.string().nullable().optional(),
  user: z.string().nullable().optional(),
  /** vLLM extension, as for chat. */
  ignore_eos: z.boolean().nullable().optional(),
});

/** What a Responses answer echoes from its request (vLLM's ResponsesResponse.from_request). */
export type ResponsesEcho = Omit<z.infer<typeof responsesSchema>, 'input' | 'stream' | 'ignore_eos'>;

export type Endpoint = 'chat' | 'completions' | 'responses';

export interface SimRequest {
  endpoint: Endpoint;
  model: string | undefined;
  promptText: string;
  /** Requested cap on generated tokens, if any. */
  maxTokens: number | undefined;
  stream: boolean;
  includeUsage: boolean;
  continuousUsage: boolean;
  ignoreEos: boolean;
  /** Responses API: the request fields its answer echoes. */
  responses?: ResponsesEcho;
}

export class RequestError extends Error {
  constructor(
    message: string,
    readonly status = 400,
    readonly type = 'BadRequestError',
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

function firstIssue(err: z.ZodError): RequestError {
  const issue = err.issues[0]!;
  const param = issue.path.length ? issue.path.join('.') : null;
  return new RequestError(param ? `${param}: ${issue.message}` : issue.message, 400, 'BadRequestError', param);
}

/** Validates a parsed JSON body for `endpoint`; throws RequestError. */
export function parseSimRequest(endpoint: Endpoint, body: unknown): SimRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RequestError('The request body must be a JSON object.');
  }
  if (endpoint === 'responses') return parseResponsesRequest(body);
  let promptText: string;
  let maxTokens: number | null | undefined;
  let c: z.infer<typeof chatSchema> | z.infer<typeof completionSchema>;
  if (endpoint === 'chat') {
    const r = chatSchema.safeParse(body);
    if (!r.success) throw firstIssue(r.error);
    c = r.data;
    maxTokens = r.data.max_completion_tokens ?? r.data.max_tokens;
    promptText = renderChatPrompt({ messages: r.data.messages, tools: r.data.tools ?? undefined });
  } else {
    const r = completionSchema.safeParse(body);
    if (!r.success) throw firstIssue(r.error);
    c = r.data;
    const p = r.data.prompt;
    if (Array.isArray(p) && (p.length === 0 || (p.length > 1 && typeof p[0] !== 'number'))) {
      throw new RequestError('The simulator accepts exactly one prompt per request.', 400, 'BadRequestError', 'prompt');
    }
    maxTokens = r.data.max_tokens ?? 16; // OpenAI's and vLLM's default for /v1/completions
    promptText = renderCompletionPrompt({ prompt: p });
  }
  if (maxTokens != null && maxTokens < 1) {
    throw new RequestError(`max_tokens must be at least 1, got ${maxTokens}.`, 400, 'BadRequestError', 'max_tokens');
  }
  if (c.n != null && c.n !== 1) {
    throw new RequestError('The simulator supports n=1 only.', 400, 'BadRequestError', 'n');
  }
  const stream = c.stream === true;
  if (c.stream_options && !stream) {
    throw new RequestError('Stream options can only be defined when `stream=True`.', 400, 'BadRequestError', 'stream_options');
  }
  if (promptText.length === 0) throw new RequestError('The prompt is empty.', 400, 'BadRequestError', 'prompt');
  return {
    endpoint,
    model: c.model,
    promptText,
    maxTokens: maxTokens ?? undefined,
    stream,
    includeUsage: stream && c.stream_options?.include_usage === true,
    continuousUsage: stream && c.stream_options?.include_usage === true && c.stream_options?.continuous_usage_stats === true,
    ignoreEos: c.ignore_eos === true,
  };
}

function parseResponsesRequest(body: unknown): SimRequest {
  const r = responsesSchema.safeParse(body);
  if (!r.success) throw firstIssue(r.error);
  const { input, stream, ignore_eos, ...echo } = r.data;
  if (echo.previous_response_id) {
    // The simulator stores no responses (vLLM answers the same for an id it does not hold).
    throw new RequestError(`Response with id '${echo.previous_response_id}' not found.`, 404, 'NotFoundError', 'previous_response_id');
  }
  if (echo.max_output_tokens != null && echo.max_output_tokens < 1) {
    throw new RequestError(`max_output_tokens must be at least 1, got ${echo.max_output_tokens}.`, 400, 'BadRequestError', 'max_output_tokens');
  }
  const promptText = renderResponsesPrompt({ input, instructions: echo.instructions, tools: echo.tools });
  return {
    endpoint: 'responses',
    model: echo.model ?? undefined,
    promptText,
    maxTokens: echo.max_output_tokens ?? undefined,
    stream: stream === true,
    includeUsage: false,
    continuousUsage: false,
    ignoreEos: ignore_eos === true,
    responses: echo,
  };
}
