// A paged KV-cache block pool with automatic prefix caching, modelled on vLLM V1's KVCacheManager:
// - a fixed number of blocks;
// - a full prompt block, once scheduled, is registered under its chained hash and can be shared;
// - blocks referenced by a running request are pinned (never evicted);
// - unreferenced hashed blocks stay cached and are evicted least-recently-used when a new block is needed;
// - a request's blocks are freed tail first, so a prompt's last blocks are evicted before its first ones.
// Only counts and hashes are tracked: there is no per-block object, which keeps the lab fast.

export interface PrefixMatch {
  /** Leading blocks resident in the cache. */
  blocks: number;
  /** Of those, how many are unreferenced (they stop being evictable once pinned). */
  evictable: number;
}

export class KvBlockPool {
  /** Hashed blocks referenced by at least one request: hash -> reference count. */
  private readonly pinned = new Map<number, number>();
  /** Hashed, unreferenced blocks in LRU order (first = least recently used = next to evict). */
  private readonly evictable = new Map<number, true>();
  /** Blocks held by requests that carry no hash (partial prompt tail, generated tokens, duplicates). */
  private anonymous = 0;
  evictions = 0;

  constructor(readonly totalBlocks: number) {
    if (!(totalBlocks >= 1)) throw new Error(`KV capacity must be at least one block, got ${totalBlocks}`);
  }

  /** Blocks referenced by requests (what vLLM reports as KV-cache usage). */
  get usedBlocks(): number {
    return this.pinned.size + this.anonymous;
  }
  /** Blocks that can be handed out now: never-used ones plus evictable cached ones. */
  get availableBlocks(): number {
    return this.totalBlocks - this.usedBlocks;
  }
  /** Blocks holding a reusable prefix hash (pinned or evictable). */
  get cachedBlocks(): number {
    return this.pinned.size + this.evictable.size;
  }

  isCached(hash: number): boolean {
    return this.pinned.has(hash) || this.evictable.has(hash);
  }

  /** Longest run of leading `hashes` that is resident, capped at `maxBlocks`. Does not touch LRU state. */
  matchPrefix(hashes: readonly number[], maxBlocks: number): PrefixMatch {
    const limit = Math.min(maxBlocks, hashes.length);
    let blocks = 0;
    let evictable = 0;
    for (; blocks < limit; blocks++) {
      const h = hashes[blocks]!;
      if (this.pinned.has(h)) continue;
      if (this.evictable.has(h)) evictable++;
      else break;
    }
    return { blocks, evictable };
  }

  /** Takes a reference on hashes[0, count) (all resident, from matchPrefix); evictable ones leave the LRU. */
  pinPrefix(hashes: readonly number[], count: number): void {
    for (let i = 0; i < count; i++) {
      const h = hashes[i]!;
      const refs = this.pinned.get(h);
      if (refs !== undefined) this.pinned.set(h, refs + 1);
      else {
        this.evictable.delete(h);
        this.pinned.set(h, 1);
      }
    }
  }

  /** Hands out `count` anonymous blocks, evicting LRU cached blocks as needed. False (and no change) if short. */
  allocate(count: number): boolean {
    if (count <= 0) return true;
    if (count > this.availableBlocks) return false;
    let toEvict = count - (this.totalBlocks - this.usedBlocks - this.evictable.size);
    if (toEvict > 0) {
      this.evictions += toEvict;
      for (const h of this.evictable.keys()) {
        this.evictable.delete(h);
        if (--toEvict === 0) break;
      }
    }
    this.anonymous += count;
    return true;
  }

  /**
   * Turns one of the caller's anonymous blocks, now full of computed prompt tokens, into a cached block under
   * `hash`. Returns false when the hash is already cached (another request computed the same block
   * concurrently); the block then stays anonymous, a duplicate, as in vLLM.
   */
  register(hash: number): boolean {
    if (this.isCached(hash)) return false;
    this.anonymous--;
    this.pinned.set(hash, 1);
    return true;
  }

  /** Releases a request's blocks. `hashes` in block order; they are freed tail first (evicted first). */
  release(hashes: readonly number[], anonymousCount: number): void {
    this.anonymous -= anonymousCount;
    for (let i = hashes.length - 1; i >= 0; i--) {
      const h = hashes[i]!;
      const refs = this.pinned.get(h)!;
      if (refs > 1) this.pinned.set(h, refs - 1);
      else {
        this.pinned.delete(h);
        this.evictable.set(h, true);
      }
    }
  }

  /** Drops every unreferenced cached block (vLLM's reset_prefix_cache). */
  clearCache(): void {
    this.evictable.clear();
  }
}
