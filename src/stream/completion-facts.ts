// Usage and finish_reason as read from an upstream completion (a JSON body or one stream chunk). These values come
// from backends, so they are untrusted: one backend answering `prompt_tokens: -5`, an object, or a number as
// finish_reason must not reach the analytics stores (which reject the whole batch) nor throw in the code that
// builds events. Every reader of usage / finish_reason (the stream observer, the drift and request-event
// adapters, the shadow legs) goes through completionFacts() or its two value functions. So does every reader of
// cache receipts: the engine adapter finds the engine's statement of cached tokens in a message, and receiptOf()
// sanitises it here.
import type { EngineAdapter, RawReceipt } from '../../gpu-backends/adapters/types.ts';
import type { CacheReceipt } from '../types/cache-receipt.ts';
import { clipText } from '../util/text.ts';
import { responsesFinishReason, usageOfMessage } from './responses-usage.ts';

/** No request has a billion tokens; a larger count is a backend bug, clamped so it cannot wrap a UInt32 column. */
export const MAX_TOKEN_COUNT = 1_000_000_000;
/** finish_reason is a short word ('stop', 'length', 'tool_calls'); longer text is clipped. */
export const MAX_FINISH_REASON_CHARS = 64;

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

export interface CompletionFacts {
  /** null when the message carries no usage object. */
  usage: Usage | null;
  /** finish_reason of choice 0; null when absent or not a string. */
  finishReason: string | null;
  /** The engine's statement of prompt and cached tokens, read through its adapter; null without one. */
  receipt: CacheReceipt | null;
}

/** What reads cache receipts out of messages: the engine adapter of the backend that answered. */
export type ReceiptReader = Pick<EngineAdapter, 'receipt'>;

const numberOf = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN);

/** A token count: a finite non-negative number (or numeric string), rounded and clamped; anything else is 0. */
export function tokenCount(v: unknown): number {
  const n = numberOf(v);
  if (!Number.isFinite(n) || n <= 0) return 0;
  return Math.min(MAX_TOKEN_COUNT, Math.round(n));
}

/**
 * A receipt the engine stated, sanitised: both counts must be token counts (a value that is not one makes no
 * receipt, rather than a false "nothing was cached"), the prompt non-empty, and cached at most the prompt.
 */
export function receiptOf(raw: RawReceipt | null): CacheReceipt | null {
  if (!raw) return null;
  const prompt = numberOf(raw.promptTokens);
  const cached = numberOf(raw.cachedTokens);
  if (!(prompt > 0) || !(cached >= 0) || !Number.isFinite(prompt) || !Number.isFinite(cached)) return null;
  const promptTokens = tokenCount(prompt);
  return { promptTokens, cachedTokens: Math.min(tokenCount(cached), promptTokens) };
}

/** A finish_reason: a non-empty string, clipped; anything else is null. */
export function finishReasonOf(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? clipText(v, MAX_FINISH_REASON_CHARS) : null;
}

/** The usage object of a message, sanitised; null when there is none. */
export function usageOf(u: unknown): Usage | null {
  if (!u || typeof u !== 'object' || Array.isArray(u)) return null;
  const o = u as { prompt_tokens?: unknown; completion_tokens?: unknown; prompt_tokens_details?: unknown };
  const details = o.prompt_tokens_details;
  return {
    promptTokens: tokenCount(o.prompt_tokens),
    completionTokens: tokenCount(o.completion_tokens),
    cachedTokens: details && typeof details === 'object' ? tokenCount((details as { cached_tokens?: unknown }).cached_tokens) : 0,
  };
}

/** Choice 0 of a completion message or chunk (by `index`, first when unnumbered), if any. */
export function firstChoice(msg: unknown): Record<string, unknown> | undefined {
  const choices = (msg as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices)) return undefined;
  const c: unknown = choices.find((c) => c && typeof c === 'object' && ((c as { index?: unknown }).index ?? 0) === 0);
  return c as Record<string, unknown> | undefined; // an object, checked by find()
}

/**
 * Usage, finish_reason and (with the engine's adapter) the cache receipt of one parsed message (a chat/completions
 * body or chunk, or a Responses body or event, whose usage and status are read in chat terms), sanitised.
 */
export function completionFacts(msg: unknown, receipts?: ReceiptReader): CompletionFacts {
  if (!msg || typeof msg !== 'object') return { usage: null, finishReason: null, receipt: null };
  const usage = usageOfMessage(msg);
  return {
    usage: usageOf(usage),
    finishReason: finishReasonOf(firstChoice(msg)?.finish_reason ?? responsesFinishReason(msg)),
    receipt: receipts ? receiptOf(receipts.receipt(msg, usage)) : null,
  };
}
