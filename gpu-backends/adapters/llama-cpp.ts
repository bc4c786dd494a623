// llama.cpp's server (llama-server) as the router sees it; the project's node-llama-cpp engine
// (gpu-backends/llama-engine/) presents itself the same way. From tools/server/README.md and server-context.cpp:
// - GET /health: public (no API key), 503 while the model loads.
// - GET /metrics, with --metrics: llamacpp:requests_processing (running), llamacpp:requests_deferred (waiting),
//   llamacpp:prompt_tokens_total (prompt tokens processed: those not served from a slot's cache, so already the
//   uncached count), llamacpp:kv_cache_usage_ratio (only in older builds; newer ones dropped it).
// - GET /slots, on unless --no-slots (then 501): per slot is_processing, n_prompt_tokens (tokens it holds),
//   n_prompt_tokens_cache (of its last prompt, tokens found in its cache).
// - Responses: `timings.cache_n` / `timings.prompt_n` in the body and in the last chunk of a stream; newer builds
//   also fill usage.prompt_tokens_details.cached_tokens.
// Both /metrics and /slots are answered from the server's main loop, between batches: under load a scrape waits
// up to about 2 s, hence the longer scrape timeout.
// Each slot keeps the one prefix it last processed, reused at token granularity (longest common prefix).
import { defineAdapter } from './define.ts';
import type { LoadMetricNames, SlotState } from './types.ts';

const metricNames: LoadMetricNames = {
  running: ['llamacpp:requests_processing'],
  waiting: ['llamacpp:requests_deferred'],
  kvUsage: ['llamacpp:kv_cache_usage_ratio'],
  uncached: { counted: ['llamacpp:prompt_tokens_total'] },
};

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.round(v) : undefined);

/** GET /slots: an array of slots; older builds say `state` (0 = idle) and `n_past` instead. */
export function parseLlamaCppSlots(json: unknown): SlotState[] | null {
  if (!Array.isArray(json)) return null;
  const out: SlotState[] = [];
  for (const s of json) {
    if (!isObject(s)) return null;
    const id = count(s.id);
    if (id === undefined) return null;
    const busy = typeof s.is_processing === 'boolean' ? s.is_processing : s.state !== undefined ? s.state !== 0 : false;
    const slot: SlotState = { id, busy };
    const tokens = count(s.n_prompt_tokens ?? s.n_past);
    const cached = count(s.n_prompt_tokens_cache);
    if (tokens !== undefined) slot.tokens = tokens;
    if (cached !== undefined) slot.cachedTokens = cached;
    out.push(slot);
  }
  return out;
}

export const llamaCppAdapter = defineAdapter({
  kind: 'llama-cpp',
  healthPath: '/health',
  metricsPath: '/metrics',
  metricsHint: 'start llama-server with --metrics',
  slotsPath: '/slots',
  scrapeTimeoutMs: 5_000,
  blockSizeTokens: 1,
  metricNames,
  receiptSources: ['timings', 'usage'],
  parseSlots: parseLlamaCppSlots,
});
