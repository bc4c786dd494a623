// What the router needs to know about an inference engine to read its load and health.

export type EngineKind = 'vllm' | 'sglang' | 'tgi' | 'openai-compatible';

/** Load as reported by the engine; a field is absent when the engine does not report it. */
export interface EngineLoad {
  running?: number;
  waiting?: number;
  /** KV-cache usage in [0, 1]. */
  kvUsage?: number;
  /** Prompt tokens not found in the prefix cache since the engine started (a counter): what it wrote to its cache. */
  uncachedPromptTokens?: number;
}

/** Metric names the adapter reads, first present name wins (newer name first, older fallbacks after). */
export interface LoadMetricNames {
  running: readonly string[];
  waiting: readonly string[];
  kvUsage: readonly string[];
  /** Counters of prompt tokens looked up in the prefix cache and of those found there (uncached = their difference). */
  cacheQueries?: readonly string[];
  cacheHits?: readonly string[];
}

export type HeaderLookup = (name: string) => string | null | undefined;

export interface EngineAdapter {
  kind: EngineKind;
  /** GET path that answers 200 when the engine can serve. */
  healthPath: string;
  /** GET path of Prometheus metrics, if the engine has one. */
  metricsPath?: string;
  /** KV block (page) size in tokens under the engine's default configuration. */
  blockSizeTokens: number;
  metricNames: LoadMetricNames;
  /** Load from the metrics endpoint's text. */
  parseLoad(metricsText: string): EngineLoad;
  /** Load piggy-backed on a response's headers (the simulator's x-sim-*), empty when absent. */
  parseLoadHeaders(get: HeaderLookup): EngineLoad;
}
