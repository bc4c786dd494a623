// Reads an engine's statement of what it served from cache out of one response message: OpenAI's usage details,
// or llama.cpp's timings. Shape only: the values are returned as the backend wrote them, and the router sanitises
// them (src/stream/completion-facts.ts), as it does every value from a backend.
import type { RawReceipt, ReceiptSource } from './types.ts';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `usage.prompt_tokens` and `usage.prompt_tokens_details.cached_tokens` (chat-completions form); null without details. */
export function usageReceipt(usage: unknown): RawReceipt | null {
  if (!isObject(usage) || !isObject(usage.prompt_tokens_details)) return null;
  const cached = usage.prompt_tokens_details.cached_tokens;
  if (cached === undefined || cached === null || usage.prompt_tokens === undefined) return null;
  return { promptTokens: usage.prompt_tokens, cachedTokens: cached };
}

/**
 * llama.cpp's `timings`: `cache_n` prompt tokens came from the slot's cache and `prompt_n` were processed, so the
 * prompt had both. Partial results carry `prompt_n: -1` until the prompt is done: no statement yet.
 */
export function timingsReceipt(msg: unknown): RawReceipt | null {
  const t = isObject(msg) ? msg.timings : undefined;
  if (!isObject(t)) return null;
  const { cache_n: cached, prompt_n: processed } = t;
  if (typeof cached !== 'number' || typeof processed !== 'number' || !(cached >= 0) || !(processed >= 0)) return null;
  return { promptTokens: cached + processed, cachedTokens: cached };
}

/** An adapter's receipt reader over its sources, first found wins. */
export function receiptFrom(sources: readonly ReceiptSource[]): (msg: unknown, usage: unknown) => RawReceipt | null {
  return (msg, usage) => {
    for (const s of sources) {
      const r = s === 'usage' ? usageReceipt(usage) : timingsReceipt(msg);
      if (r) return r;
    }
    return null;
  };
}
