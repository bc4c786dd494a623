// Request-body schemas for the OpenAI-compatible endpoints, and the table of inference endpoints the router serves.
// Loose objects: fields kvroute does not know pass through to the backend unchanged (the original body text is
// forwarded, not a re-serialisation). Every optional field accepts `null`, as OpenAI's API and vLLM do (the SDKs
// and many clients send `"user": null`, `"tools": null`, ...): `null` means "not set".
import { z } from 'zod';
import { formatPath } from '../config/schema.ts';

/**
 * An optional field that also accepts null; the parsed value is `undefined` for both. The transform sits inside
 * `.optional()`, so a field that is absent (most of them, in most requests) is passed over at once instead of
 * running a pipe for every field of every body.
 */
const opt = <T extends z.ZodType>(schema: T) => schema.nullable().transform((v) => v ?? undefined).optional();

const contentPart = z.looseObject({ type: z.string() });
const message = z.looseObject({
  role: z.string().min(1),
  content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
});

const sampling = {
  model: z.string().min(1),
  stream: opt(z.boolean()),
  stream_options: opt(z.looseObject({ include_usage: opt(z.boolean()) })),
  temperature: opt(z.number().min(0).max(2)),
  top_p: opt(z.number().min(0).max(1)),
  user: opt(z.string()),
  metadata: opt(z.record(z.string(), z.unknown())),
};

const common = {
  ...sampling,
  max_tokens: opt(z.number().int().positive()),
  max_completion_tokens: opt(z.number().int().positive()),
  n: opt(z.number().int().positive()),
  seed: opt(z.number().int()),
  stop: opt(z.union([z.string(), z.array(z.string())])),
  logprobs: opt(z.union([z.boolean(), z.number().int().min(0)])),
  top_logprobs: opt(z.number().int().min(0)),
  frequency_penalty: opt(z.number()),
  presence_penalty: opt(z.number()),
  logit_bias: opt(z.record(z.string(), z.number())),
};

export const chatCompletionBody = z.looseObject({
  ...common,
  messages: z.array(message).min(1, 'must contain at least one message'),
  tools: opt(z.array(z.looseObject({ type: z.string() }))),
  tool_choice: opt(z.union([z.string(), z.looseObject({ type: z.string() })])),
  parallel_tool_calls: opt(z.boolean()),
  response_format: opt(z.looseObject({ type: z.string() })),
});

export const completionBody = z.looseObject({
  ...common,
  prompt: z.union([z.string(), z.array(z.string()), z.array(z.number().int()), z.array(z.array(z.number().int()))]),
  echo: opt(z.boolean()),
  suffix: opt(z.string()),
  best_of: opt(z.number().int().positive()),
});

/** Responses API input: a string, or a list of input items (messages with text or content parts, tool items). */
const responsesInput = z.union([z.string(), z.array(z.looseObject({}))]);

export const responsesBody = z.looseObject({
  ...sampling,
  input: opt(responsesInput),
  instructions: opt(z.string()),
  max_output_tokens: opt(z.number().int().positive()),
  tools: opt(z.array(z.looseObject({ type: z.string() }))),
  tool_choice: opt(z.union([z.string(), z.looseObject({ type: z.string() })])),
  parallel_tool_calls: opt(z.boolean()),
  previous_response_id: opt(z.string()),
  store: opt(z.boolean()),
  background: opt(z.boolean()),
  include: opt(z.array(z.string())),
  reasoning: opt(z.looseObject({})),
  text: opt(z.looseObject({})),
  truncation: opt(z.enum(['auto', 'disabled'])),
  top_logprobs: opt(z.number().int().min(0)),
});

export const embeddingsBody = z.looseObject({
  model: z.string().min(1),
  input: z.union([
    z.string(),
    z.array(z.string()).min(1, 'must contain at least one input'),
    z.array(z.number().int()).min(1, 'must contain at least one token'),
    z.array(z.array(z.number().int())).min(1, 'must contain at least one input'),
  ]),
  encoding_format: opt(z.enum(['float', 'base64'])),
  dimensions: opt(z.number().int().positive()),
  user: opt(z.string()),
});

export type ChatCompletionBody = z.infer<typeof chatCompletionBody>;
export type CompletionBody = z.infer<typeof completionBody>;
export type ResponsesBody = z.infer<typeof responsesBody>;
export type EmbeddingsBody = z.infer<typeof embeddingsBody>;
export type InferenceBody = ChatCompletionBody | CompletionBody | ResponsesBody | EmbeddingsBody;
export type InferenceKind = 'chat' | 'completions' | 'responses' | 'embeddings';

export interface InferenceEndpoint {
  /** The path on the router and on the backend. */
  path: string;
  schema: z.ZodType<InferenceBody>;
  /**
   * How this endpoint's stream ends normally: an SSE line starting with one of these (the relay calls a stream
   * without one truncated). Chat and completions end with `data: [DONE]`; Responses streams end with a terminal
   * event and no [DONE] (vLLM and OpenAI name it in an `event:` line; a data-only server puts `type` first).
   */
  endLines: readonly string[];
  /** Shadow legs compare chat/completions outputs; other kinds are not shadowed. */
  shadow: boolean;
}

export const inferenceEndpoints: Record<InferenceKind, InferenceEndpoint> = {
  chat: { path: '/v1/chat/completions', schema: chatCompletionBody, endLines: ['data: [DONE]'], shadow: true },
  completions: { path: '/v1/completions', schema: completionBody, endLines: ['data: [DONE]'], shadow: true },
  responses: {
    path: '/v1/responses',
    schema: responsesBody,
    endLines: ['completed', 'incomplete', 'failed'].flatMap((t) => [`event: response.${t}`, `data: {"type":"response.${t}"`]),
    shadow: false,
  },
  embeddings: { path: '/v1/embeddings', schema: embeddingsBody, endLines: [], shadow: false },
};

const kindByPath = new Map(Object.entries(inferenceEndpoints).map(([kind, e]) => [e.path, kind as InferenceKind]));

/** The inference kind served at `pathname` (one trailing slash allowed), or undefined. */
export function inferenceKindOf(pathname: string): InferenceKind | undefined {
  return kindByPath.get(pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname);
}

/** First problem as `(param, message)`, for a 400 that names the field. */
export function firstProblem(error: z.ZodError): { param: string; message: string } {
  const issue = error.issues[0]!;
  return { param: formatPath(issue.path) || 'body', message: issue.message };
}
