// Response bodies in the shapes llama-server sends on its OpenAI-compatible routes (tools/server, server-task.cpp):
// field order, the `timings` object on the final body or last SSE chunk, `usage` with
// prompt_tokens_details.cached_tokens, and SSE lines `data: {...}\n\n` ending with `data: [DONE]`.
import { randomBytes } from 'node:crypto';
import type { GenerationResult } from './engine.ts';

export interface ResponseMeta {
  id: string;
  created: number;
  model: string;
  fingerprint: string;
}

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** llama-server's gen_chatcmplid: `chatcmpl-` and 32 random alphanumerics (for completions too). */
export function completionId(): string {
  return `chatcmpl-${Array.from(randomBytes(32), (b) => ALPHABET[b % ALPHABET.length]).join('')}`;
}

export function usageOf(r: GenerationResult) {
  return {
    completion_tokens: r.completionTokens,
    prompt_tokens: r.promptTokens,
    total_tokens: r.completionTokens + r.promptTokens,
    prompt_tokens_details: { cached_tokens: r.timings.cache_n },
  };
}

export function chatBody(m: ResponseMeta, r: GenerationResult): object {
  return {
    choices: [{ finish_reason: r.finishReason, index: 0, message: { role: 'assistant', content: r.text } }],
    created: m.created,
    model: m.model,
    system_fingerprint: m.fingerprint,
    object: 'chat.completion',
    usage: usageOf(r),
    id: m.id,
    timings: r.timings,
  };
}

export function completionBody(m: ResponseMeta, r: GenerationResult, text = r.text): object {
  return {
    choices: [{ text, index: 0, logprobs: null, finish_reason: r.finishReason }],
    created: m.created,
    model: m.model,
    system_fingerprint: m.fingerprint,
    object: 'text_completion',
    usage: usageOf(r),
    id: m.id,
    timings: r.timings,
  };
}

function chatChunk(m: ResponseMeta, delta: object, finishReason: string | null): Record<string, unknown> {
  return {
    choices: [{ finish_reason: finishReason, index: 0, delta }],
    created: m.created,
    id: m.id,
    model: m.model,
    system_fingerprint: m.fingerprint,
    object: 'chat.completion.chunk',
  };
}

/** The first chunk of a chat stream (sent with the first generated token). */
export function chatRoleChunk(m: ResponseMeta): object {
  return chatChunk(m, { role: 'assistant', content: null }, null);
}

export function chatContentChunk(m: ResponseMeta, text: string): object {
  return chatChunk(m, { content: text }, null);
}

/** The closing chunks: finish reason, then usage if asked for; `timings` rides on the last one. */
export function chatFinalChunks(m: ResponseMeta, r: GenerationResult, includeUsage: boolean): object[] {
  const chunks: Record<string, unknown>[] = [chatChunk(m, {}, r.finishReason)];
  if (includeUsage) {
    chunks.push({ choices: [], created: m.created, id: m.id, model: m.model, system_fingerprint: m.fingerprint, object: 'chat.completion.chunk', usage: usageOf(r) });
  }
  chunks[chunks.length - 1]!.timings = r.timings;
  return chunks;
}

export function completionChunk(m: ResponseMeta, text: string): object {
  return {
    choices: [{ text, index: 0, logprobs: null, finish_reason: null }],
    created: m.created,
    model: m.model,
    system_fingerprint: m.fingerprint,
    object: 'text_completion',
    id: m.id,
  };
}

/** The closing chunk of a completions stream: no text (it was streamed), finish reason, usage and timings. */
export function completionFinalChunk(m: ResponseMeta, r: GenerationResult): object {
  return completionBody(m, r, '');
}

export function sseData(payload: object | string): string {
  return `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;
}

export const SSE_DONE = sseData('[DONE]');

/** The project's error shape (OpenAI's, with string type and code), carrying llama-server's error types. */
export function errorBody(message: string, type: string, code: string, param: string | null = null): object {
  return { error: { message, type, param, code } };
}
