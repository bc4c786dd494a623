// What a router believes each backend has cached, learned only from its own routing decisions (the SGLang
// router's approximate tree, GIE's prefix index). Chained block hashes make a hash table a prefix tree: a
// block hash stands for its whole prefix. Each backend has an LRU of block hashes sized like its KV cache.
// A request's blocks are touched last-block-first, so a prefix is always more recent than its extensions and
// the tail is evicted first, as in vLLM.

export class ApproxPrefixIndex {
  /** Per backend id: block hash -> true, in LRU order (first = next to evict). */
  private readonly lru = new Map<string, Map<number, true>>();

  constructor(private readonly blocksPerBackend: number) {}

  /** Leading blocks of `hashes` the index believes `backendId` holds. */
  matchedBlocks(backendId: string, hashes: ArrayLike<number>): number {
    const lru = this.lru.get(backendId);
    if (!lru) return 0;
    let n = 0;
    while (n < hashes.length && lru.has(hashes[n]!)) n++;
    return n;
  }

  /** Records that `backendId` now holds the prefix `hashes`. */
  insert(backendId: string, hashes: ArrayLike<number>): void {
    let lru = this.lru.get(backendId);
    if (!lru) this.lru.set(backendId, (lru = new Map()));
    for (let i = hashes.length - 1; i >= 0; i--) {
      const h = hashes[i]!;
      lru.delete(h);
      lru.set(h, true);
    }
    let excess = lru.size - this.blocksPerBackend;
    if (excess > 0) {
      for (const h of lru.keys()) {
        lru.delete(h);
        if (--excess === 0) break;
      }
    }
  }

  /** Blocks the index holds for `backendId`. */
  size(backendId: string): number {
    return this.lru.get(backendId)?.size ?? 0;
  }
}
