// /v1/embeddings as vLLM's OpenAI server answers it (EmbeddingResponse: `embd-` id, object "list", one
// `{index, object: "embedding", embedding}` per input, usage with prompt tokens only), with `encoding_format`
// float or base64 (little-endian float32, what the openai SDKs ask for by default) and `dimensions` (a
// Matryoshka cut). Vectors are deterministic from the input: a hashed bag of words, L2-normalised, so equal texts
// get equal vectors and texts that share words point the same way.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { combine32, fmix32, hashString, unitFloat } from '../../src/util/hash.ts';
import type { BackendContext as Context } from './backend-context.ts';
import { contextLimit } from './profiles.ts';
import { drawFaults } from './faults.ts';
import { answeredByFault, readJson, sendError, sendJson } from './http-io.ts';
import { RequestError } from './openai-request.ts';
import { countTokens } from './tokenizer.ts';

/** Width of the simulated embedding model's vectors. */
export const EMBEDDING_DIMENSIONS = 384;

const schema = z.object({
  model: z.string().nullable().optional(),
  input: z.union([z.string(), z.array(z.string()), z.array(z.number().int()), z.array(z.array(z.number().int()))]),
  encoding_format: z.enum(['float', 'base64']).nullable().optional(),
  dimensions: z.number().int().nullable().optional(),
  user: z.string().nullable().optional(),
});

/** The inputs as texts (token ids as their numbers) with their token counts. */
function inputsOf(input: z.infer<typeof schema>['input']): { text: string; tokens: number }[] {
  if (typeof input === 'string') return [{ text: input, tokens: countTokens(input) }];
  if (input.length === 0) return [];
  if (typeof input[0] === 'string') return (input as string[]).map((t) => ({ text: t, tokens: countTokens(t) }));
  if (typeof input[0] === 'number') return [{ text: (input as number[]).join(' '), tokens: input.length }];
  return (input as number[][]).map((ids) => ({ text: ids.join(' '), tokens: ids.length }));
}

/** The deterministic unit vector of `text`, `dims` wide. */
export function embeddingOf(text: string, dims: number): Float32Array {
  const v = new Float32Array(dims);
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [text];
  for (const w of words) {
    const seed = hashString(w);
    for (let j = 0; j < dims; j++) v[j]! += unitFloat(fmix32(combine32(seed, j))) * 2 - 1;
  }
  return toUnit(v);
}

/** Scales `v` to length 1, in place. */
function toUnit(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  for (let j = 0; j < v.length; j++) v[j]! /= norm;
  return v;
}

function encode(v: Float32Array, format: 'float' | 'base64'): number[] | string {
  return format === 'base64' ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : Array.from(v);
}

export async function embed(ctx: Context, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const raw = await readJson(req, res);
  if (raw === undefined) return;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = issue.path.join('.') || null;
    return sendError(res, new RequestError(param ? `${param}: ${issue.message}` : issue.message, 400, 'BadRequestError', param));
  }
  const body = parsed.data;
  if (body.model != null && body.model !== ctx.model) {
    return sendError(res, new RequestError(`The model \`${body.model}\` does not exist.`, 404, 'NotFoundError', 'model'));
  }
  if (answeredByFault(res, drawFaults(ctx.faults, ctx.faultSeed, ctx.requestCount++))) return;
  const inputs = inputsOf(body.input);
  if (inputs.length === 0) return sendError(res, new RequestError('input must not be empty.', 400, 'BadRequestError', 'input'));
  const dims = body.dimensions ?? EMBEDDING_DIMENSIONS;
  if (dims < 1 || dims > EMBEDDING_DIMENSIONS) {
    return sendError(res, new RequestError(`dimensions must be between 1 and ${EMBEDDING_DIMENSIONS}, got ${dims}.`, 400, 'BadRequestError', 'dimensions'));
  }
  const limit = contextLimit(ctx.config);
  const long = inputs.find((i) => i.tokens > limit);
  if (long) {
    return sendError(res, new RequestError(`This model's maximum context length is ${limit} tokens. However, you requested ${long.tokens} tokens in the input for embedding generation. Please reduce the length of the input.`, 400, 'BadRequestError', 'input'));
  }
  const format = body.encoding_format ?? 'float';
  // A Matryoshka cut: the leading dims of the full vector, renormalised (what `dimensions` does on such models).
  const data = inputs.map((input, index) => {
    const full = embeddingOf(input.text, EMBEDDING_DIMENSIONS);
    return { index, object: 'embedding', embedding: encode(dims === EMBEDDING_DIMENSIONS ? full : toUnit(full.slice(0, dims)), format) };
  });
  const promptTokens = inputs.reduce((n, i) => n + i.tokens, 0);
  sendJson(res, 200, {
    id: `embd-${randomUUID().replace(/-/g, '')}`,
    object: 'list',
    created: Math.floor(Date.now() / 1000),
    model: ctx.model,
    data,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens, completion_tokens: 0, prompt_tokens_details: null },
  });
}
