// What the router needs to know about an inference engine to read its load, its health and its statement of what
// it served from cache.

export type EngineKind = 'vllm' | 'sglang' | 'tgi' | 'llama-cpp' | 'openai-compatible';

/** One slot of an engine with a fixed number of sequences and a prompt cache per slot (llama.cpp's /slots). */
export interface SlotState {
  id: number;
  busy: boolean;
  /** Tokens the slot holds in its KV cache (the prompt and output of its current or last request). */
  tokens?: number;
  /** Of its current or last request's prompt, the tokens it found in its cache. */
  cachedTokens?: number;
}

/** Load as reported by the engine; a field is absent when the engine does not report it. */
export interface EngineLoad {
  running?: number;
  waiting?: number;
  /** KV-cache usage in [0, 1]. */
  kvUsage?: number;
  /** Prompt tokens not found in the prefix cache since the engine started (a counter): what it wrote to its cache. */
  uncachedPromptTokens?: number;
  /** Per-slot state, where the engine lists its slots. */
  slots?: SlotState[];
}

/**
 * A counter of prompt tokens the engine did not find in its prefix cache, as the sum of the `counted` counter
 * minus the sum of the `served` one. An engine that counts every prompt token it looked up and, apart, those it
 * found (vLLM, SGLang) names both; one whose counter already leaves cached tokens out (llama.cpp) names `counted`
 * alone.
 */
export interface UncachedCounter {
  counted: readonly string[];
  served?: readonly string[];
}

/** Metric names the adapter reads, first present name wins (newer name first, older fallbacks after). */
export interface LoadMetricNames {
  running: readonly string[];
  waiting: readonly string[];
  kvUsage: readonly string[];
  uncached?: UncachedCounter;
}

export type HeaderLookup = (name: string) => string | null | undefined;

/**
 * Where a response states what the engine served from cache: `usage` is OpenAI's
 * `usage.prompt_tokens_details.cached_tokens` (Responses API: `input_tokens_details`), `timings` is llama.cpp's
 * `timings.cache_n` (cached) and `timings.prompt_n` (processed).
 */
export type ReceiptSource = 'usage' | 'timings';

/** llama-server's per-response `timings` object (tools/server result_timings), as the engines this project runs write it. */
export interface LlamaTimings {
  cache_n: number;
  prompt_n: number;
  prompt_ms: number;
  prompt_per_token_ms: number;
  prompt_per_second: number;
  predicted_n: number;
  predicted_ms: number;
  predicted_per_token_ms: number;
  predicted_per_second: number;
}

/** Prompt and cached tokens as one message states them: raw backend values, which the router sanitises. */
export interface RawReceipt {
  promptTokens: unknown;
  cachedTokens: unknown;
}

export interface EngineAdapter {
  kind: EngineKind;
  /** GET path that answers 200 when the engine can serve. */
  healthPath: string;
  /** GET path of Prometheus metrics, if the engine has one. */
  metricsPath?: string;
  /** What turns the metrics on, where the engine serves them only when asked (shown when they are missing). */
  metricsHint?: string;
  /** GET path listing the engine's slots (JSON), if it has one; an engine may have it turned off. */
  slotsPath?: string;
  /**
   * How long a metrics or slots scrape may take (default 2 s). An engine that answers them from its busy main
   * loop needs longer, or its load is never read while it is loaded.
   */
  scrapeTimeoutMs?: number;
  /** KV block (page) size in tokens under the engine's default configuration. */
  blockSizeTokens: number;
  metricNames: LoadMetricNames;
  /** Where its responses state cached tokens, first found wins. */
  receiptSources: readonly ReceiptSource[];
  /** Load from the metrics endpoint's text. */
  parseLoad(metricsText: string): EngineLoad;
  /** Slots from the slots endpoint's parsed JSON; null when it is not a slot list. */
  parseSlots?(json: unknown): SlotState[] | null;
  /** Load piggy-backed on a response's headers (the simulator's x-sim-*), empty when absent. */
  parseLoadHeaders(get: HeaderLookup): EngineLoad;
  /**
   * The engine's statement of prompt and cached tokens in one parsed message (a JSON body or one SSE event), or
   * null when it carries none. `usage` is the message's usage in chat-completions form (a Responses usage mapped).
   */
  receipt(msg: unknown, usage: unknown): RawReceipt | null;
}
