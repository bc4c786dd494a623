// A policy's handle on its pool's shared board (popularity-exchange.ts) for the rare request that should not
// be placed on a stale view. Edge isolates take the board's placement log every few seconds, and only when
// they serve traffic: an isolate that served nothing for a while knows nothing of conversations placed since.
// For a long prompt it would place blind, one round trip to the board is cheaper than recomputing the prefill
// that may be cached elsewhere (prefix-affinity.ts decides when).

export interface BoardLookup {
  /** Milliseconds since this instance's views last heard from the board (Infinity if never). */
  ageMs(now: number): number;
  /**
   * Exchanges with the board now, asking where the blocks in `ask` were placed (the board's answer also holds
   * everything placed since the last exchange). Resolves once the answer is installed or the lookup's time bound
   * has passed, whichever is first; never rejects (a failed lookup leaves the views as they were).
   */
  refresh(now: number, ask?: Int32Array): Promise<void>;
}
