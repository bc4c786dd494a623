// A shared type (src/types/: shapes several folders exchange, no code, no imports): engines state it in their
// responses, the stream reads it, routing policies, drift and the backend states learn from it.

/**
 * An engine's own statement of what it served from its prefix cache for one request (from the response's usage or
 * the engine's timings, read by its adapter): ground truth for where a prefix lives.
 */
export interface CacheReceipt {
  /** Prompt tokens of the request, as the engine counted them. */
  promptTokens: number;
  /** Of those, tokens the engine served from its prefix cache. */
  cachedTokens: number;
}
