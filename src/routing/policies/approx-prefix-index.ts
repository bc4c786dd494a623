// What a router believes each backend has cached, learned only from its own routing decisions (the SGLang
// router's approximate tree, GIE's prefix index). Chained block hashes make a hash table a prefix tree: a
// block hash stands for its whole prefix. Each backend has an LRU of block hashes sized like its KV cache.
// A request's blocks are touched last-block-first, so a prefix is always more recent than its extensions and
// the tail is evicted first, as in vLLM.
//
// The engine's receipts correct it (forgetOlderThan): when a backend did not have a block the index believed it
// had, the engine evicted it, and (evicting least recently used first, as the index does) everything the index
// touched there before that block too. So those entries go, and the backend's capacity is lowered to what it
// held: a llama.cpp engine keeps one prompt per slot, far less than an index sized like a vLLM cache believes.
// Receipts that confirm the belief let the capacity grow back.

/** Smallest capacity a receipt can lower a backend to (blocks of 512 characters: about one prompt of 2k tokens). */
const MIN_CAPACITY = 16;

interface BackendLru {
  /** Block hash -> stamp of its last touch, in LRU order (first = next to evict; stamps ascending). */
  blocks: Map<number, number>;
  /** Touches so far (the stamp of the newest). */
  clock: number;
  /** Blocks kept for this backend (from the configured size, lowered by receipts that found less). */
  capacity: number;
}

export class ApproxPrefixIndex {
  private readonly lru = new Map<string, BackendLru>();

  constructor(private readonly blocksPerBackend: number) {}

  private backend(id: string): BackendLru {
    let b = this.lru.get(id);
    if (!b) this.lru.set(id, (b = { blocks: new Map(), clock: 0, capacity: this.blocksPerBackend }));
    return b;
  }

  /** Leading blocks of `hashes` the index believes `backendId` holds. */
  matchedBlocks(backendId: string, hashes: ArrayLike<number>): number {
    const lru = this.lru.get(backendId)?.blocks;
    if (!lru) return 0;
    let n = 0;
    while (n < hashes.length && lru.has(hashes[n]!)) n++;
    return n;
  }

  /** Records that `backendId` now holds the prefix `hashes`. */
  insert(backendId: string, hashes: ArrayLike<number>): void {
    const b = this.backend(backendId);
    const lru = b.blocks;
    for (let i = hashes.length - 1; i >= 0; i--) {
      const h = hashes[i]!;
      lru.delete(h);
      lru.set(h, ++b.clock);
    }
    let excess = lru.size - b.capacity;
    if (excess > 0) {
      for (const h of lru.keys()) {
        lru.delete(h);
        if (--excess === 0) break;
      }
    }
  }

  /** Stamps of the last touches of the first `count` blocks of `hashes` on `backendId` (before a new insert). */
  stamps(backendId: string, hashes: ArrayLike<number>, count: number): Float64Array {
    const lru = this.lru.get(backendId)?.blocks;
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = lru?.get(hashes[i]!) ?? 0;
    return out;
  }

  /** Touches recorded for `backendId` so far. */
  clock(backendId: string): number {
    return this.lru.get(backendId)?.clock ?? 0;
  }

  /**
   * The engine of `backendId` no longer had a block last touched at `stamp`, when the index's clock was at `clock`:
   * everything touched there at or before `stamp` is forgotten, and the backend's capacity becomes at most the
   * touches it was found to keep (clock - stamp).
   */
  forgetOlderThan(backendId: string, stamp: number, clock: number): void {
    const b = this.lru.get(backendId);
    if (!b) return;
    for (const [h, s] of b.blocks) {
      if (s > stamp) break;
      b.blocks.delete(h);
    }
    b.capacity = Math.max(MIN_CAPACITY, Math.min(b.capacity, clock - stamp));
  }

  /** A receipt confirmed what the index believed on `backendId`: its capacity may grow back (by 1/16). */
  confirmed(backendId: string): void {
    const b = this.lru.get(backendId);
    if (b && b.capacity < this.blocksPerBackend) b.capacity = Math.min(this.blocksPerBackend, b.capacity + 1);
  }

  /** Blocks the index holds for `backendId`. */
  size(backendId: string): number {
    return this.lru.get(backendId)?.blocks.size ?? 0;
  }

  /** Blocks the index keeps at most for `backendId`. */
  capacity(backendId: string): number {
    return this.lru.get(backendId)?.capacity ?? this.blocksPerBackend;
  }
}
