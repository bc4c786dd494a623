// Request-body schemas for the OpenAI-compatible endpoints. Loose objects: fields kvroute does not know pass
// through to the backend unchanged (the original body text is forwarded, not a re-serialisation).
import { z } from 'zod';
import { formatPath } from './schema.ts';

const contentPart = z.looseObject({ type: z.string() });
const message = z.looseObject({
  role: z.string().min(1),
  content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
});

const common = {
  model: z.string().min(1),
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: z.number().int().positive().nullable().optional(),
  max_completion_tokens: z.number().int().positive().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  n: z.number().int().positive().nullable().optional(),
  user: z.string().optional(),
  seed: z.number().int().nullable().optional(),
};

export const chatCompletionBody = z.looseObject({
  ...common,
  messages: z.array(message).min(1, 'must contain at least one message'),
  tools: z.array(z.looseObject({ type: z.string() })).optional(),
  response_format: z.looseObject({ type: z.string() }).optional(),
});

export const completionBody = z.looseObject({
  ...common,
  prompt: z.union([z.string(), z.array(z.string()), z.array(z.number().int()), z.array(z.array(z.number().int()))]),
});

export type ChatCompletionBody = z.infer<typeof chatCompletionBody>;
export type CompletionBody = z.infer<typeof completionBody>;
export type InferenceBody = ChatCompletionBody | CompletionBody;
export type InferenceKind = 'chat' | 'completions';

/** First problem as `(param, message)`, for a 400 that names the field. */
export function firstProblem(error: z.ZodError): { param: string; message: string } {
  const issue = error.issues[0]!;
  return { param: formatPath(issue.path) || 'body', message: issue.message };
}
