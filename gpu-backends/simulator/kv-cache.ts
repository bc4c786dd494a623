// KV caches of the simulated engines: vLLM's paged pool (KvBlockPool) and llama.cpp's per-slot prompts (SlotCache).
//
// A paged KV-cache block pool with automatic prefix caching, laid out like vLLM V1's BlockPool:
// - a fixed number of physical blocks; a request holds a list of block ids;
// - a full prompt block, once scheduled, is registered under its chained hash and can be shared;
// - blocks with a reference count above zero are pinned (never evicted);
// - every unreferenced block sits in one free queue: allocation takes from the head, freed blocks join the
//   tail, and taking a block that still carries a hash evicts that cached prefix block (LRU);
// - a prefix hit on an unreferenced block takes it out of the free queue ("touch");
// - a request's blocks are freed tail first, so a prompt's last blocks are evicted before its first ones.
// Typed arrays and one Map keep it fast enough for the routing lab's long trace replays.

export interface PrefixMatch {
  /** Leading blocks resident in the cache. */
  blocks: number;
  /** Of those, how many are unreferenced (they stop being available once pinned). */
  evictable: number;
}

export class KvBlockPool {
  /** Hash -> block id, for blocks holding a reusable prefix. Keys are int32 (`h | 0`) so V8 keeps them small. */
  private readonly byHash = new Map<number, number>();
  private readonly hashOf: Int32Array;
  private readonly hashed: Uint8Array;
  private readonly refs: Int32Array;
  /** Free queue as a doubly linked list over block ids; index `totalBlocks` is the sentinel. */
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private free: number;
  evictions = 0;

  constructor(readonly totalBlocks: number) {
    if (!(Number.isInteger(totalBlocks) && totalBlocks >= 1)) throw new Error(`KV capacity must be at least one block, got ${totalBlocks}`);
    const n = totalBlocks + 1;
    this.hashOf = new Int32Array(totalBlocks);
    this.hashed = new Uint8Array(totalBlocks);
    this.refs = new Int32Array(totalBlocks);
    this.prev = new Int32Array(n);
    this.next = new Int32Array(n);
    const s = totalBlocks;
    this.prev[s] = this.next[s] = s;
    for (let b = 0; b < totalBlocks; b++) this.append(b);
    this.free = totalBlocks;
  }

  /** Blocks referenced by requests (what vLLM reports as KV-cache usage). */
  get usedBlocks(): number {
    return this.totalBlocks - this.free;
  }
  /** Blocks in the free queue: empty ones plus evictable cached ones. */
  get availableBlocks(): number {
    return this.free;
  }
  /** Blocks holding a reusable prefix (referenced or evictable). */
  get cachedBlocks(): number {
    return this.byHash.size;
  }

  isCached(hash: number): boolean {
    return this.byHash.has(hash | 0);
  }

  /** Longest run of leading `hashes` that is resident, capped at `maxBlocks`. Changes nothing. */
  matchPrefix(hashes: readonly number[], maxBlocks: number): PrefixMatch {
    const limit = Math.min(maxBlocks, hashes.length);
    let blocks = 0;
    let evictable = 0;
    for (; blocks < limit; blocks++) {
      const b = this.byHash.get(hashes[blocks]! | 0);
      if (b === undefined) break;
      if (this.refs[b] === 0) evictable++;
    }
    return { blocks, evictable };
  }

  /** References the blocks of hashes[0, count) (resident, from matchPrefix) and appends their ids to `out`. */
  pinPrefix(hashes: readonly number[], count: number, out: number[]): void {
    for (let i = 0; i < count; i++) {
      const b = this.byHash.get(hashes[i]! | 0)!;
      if (this.refs[b]!++ === 0) {
        this.unlink(b);
        this.free--;
      }
      out.push(b);
    }
  }

  /** Takes `count` blocks from the head of the free queue into `out`, evicting cached ones. False if short. */
  allocate(count: number, out: number[]): boolean {
    if (count > this.free) return false;
    const s = this.totalBlocks;
    for (let i = 0; i < count; i++) {
      const b = this.next[s]!;
      this.unlink(b);
      if (this.hashed[b]) {
        this.byHash.delete(this.hashOf[b]!);
        this.hashed[b] = 0;
        this.evictions++;
      }
      this.refs[b] = 1;
      out.push(b);
    }
    if (count > 0) this.free -= count;
    return true;
  }

  /**
   * Caches block `b`, now full of scheduled prompt tokens, under `hash`. A no-op when the hash is already
   * cached (another request computed the same block concurrently; this block stays a duplicate, as in vLLM).
   */
  register(b: number, hash: number): void {
    const key = hash | 0;
    if (this.hashed[b] || this.byHash.has(key)) return;
    this.byHash.set(key, b);
    this.hashOf[b] = key;
    this.hashed[b] = 1;
  }

  /** Releases a request's blocks (in block order); they join the free queue tail first. */
  release(blocks: readonly number[]): void {
    for (let i = blocks.length - 1; i >= 0; i--) {
      const b = blocks[i]!;
      if (--this.refs[b]! === 0) {
        this.append(b);
        this.free++;
      }
    }
  }

  /** Forgets every unreferenced cached block (vLLM's reset_prefix_cache). */
  clearCache(): void {
    const s = this.totalBlocks;
    for (let b = this.next[s]!; b !== s; b = this.next[b]!) {
      if (this.hashed[b]) {
        this.byHash.delete(this.hashOf[b]!);
        this.hashed[b] = 0;
      }
    }
  }

  private append(b: number): void {
    const s = this.totalBlocks;
    const last = this.prev[s]!;
    this.next[last] = b;
    this.prev[b] = last;
    this.next[b] = s;
    this.prev[s] = b;
  }

  private unlink(b: number): void {
    const p = this.prev[b]!;
    const n = this.next[b]!;
    this.next[p] = n;
    this.prev[n] = p;
  }
}

/** What a request gets when it takes a slot: which slot, and how many leading blocks of its prompt it holds. */
export interface SlotChoice {
  slot: number;
  blocks: number;
}

/**
 * llama.cpp's per-slot prompt cache (llama-server without a shared paged cache): N slots, each keeping the one
 * prompt (plus answer) it last processed, as chained block hashes. A request takes an idle slot as
 * get_available_slot does: the one whose cached prefix covers the largest share of the request's prompt, if that
 * share is above `similarity`; otherwise the least recently used idle slot. Either way it reuses that slot's
 * common prefix and overwrites the rest. Nothing is evicted otherwise: a prefix lives until its slot is reused.
 */
export class SlotCache {
  /** Per slot: chained hashes of the blocks its KV holds (a busy slot: the blocks kept for its request so far). */
  private readonly held: number[][];
  private readonly busy: Uint8Array;
  private readonly lastUsed: Float64Array;
  private tick = 0;
  private busyCount = 0;

  constructor(
    readonly slots: number,
    private readonly similarity: number,
  ) {
    if (!(Number.isInteger(slots) && slots >= 1)) throw new Error(`slots must be a positive integer, got ${slots}`);
    this.held = Array.from({ length: slots }, () => []);
    this.busy = new Uint8Array(slots);
    this.lastUsed = new Float64Array(slots);
  }

  get idle(): number {
    return this.slots - this.busyCount;
  }

  /** Blocks held by every slot, busy or idle (an idle slot's prompt stays in the KV: llama.cpp's cache usage). */
  get heldBlocks(): number {
    let n = 0;
    for (const h of this.held) n += h.length;
    return n;
  }

  /**
   * The idle slot a request with these block hashes takes (`promptBlocks` of them are its prompt's full blocks,
   * `maxBlocks` the most it may reuse), or undefined when every slot is busy. Changes nothing.
   */
  choose(hashes: readonly number[], promptBlocks: number, maxBlocks: number): SlotChoice | undefined {
    let best: SlotChoice | undefined;
    let lru = -1;
    for (let s = 0; s < this.slots; s++) {
      if (this.busy[s]) continue;
      const blocks = Math.min(maxBlocks, commonPrefix(this.held[s]!, hashes));
      if (blocks > 0 && blocks > this.similarity * promptBlocks && (!best || blocks > best.blocks)) best = { slot: s, blocks };
      if (lru < 0 || this.lastUsed[s]! < this.lastUsed[lru]!) lru = s;
    }
    if (best) return best;
    if (lru < 0) return undefined;
    return { slot: lru, blocks: Math.min(maxBlocks, commonPrefix(this.held[lru]!, hashes)) };
  }

  /** A request takes `choice.slot`: the slot keeps its first `choice.blocks` blocks and drops the rest. */
  take(choice: SlotChoice): void {
    if (this.busy[choice.slot]) throw new Error(`slot ${choice.slot} is busy`);
    this.busy[choice.slot] = 1;
    this.busyCount++;
    this.held[choice.slot]!.length = choice.blocks;
  }

  /** The request in `slot` is done: the slot now holds the first `blocks` of `hashes` (what it computed). */
  release(slot: number, hashes: readonly number[], blocks: number): void {
    if (!this.busy[slot]) return;
    this.busy[slot] = 0;
    this.busyCount--;
    this.held[slot] = hashes.slice(0, Math.min(blocks, hashes.length));
    this.lastUsed[slot] = ++this.tick;
  }

  /** Forgets the prompts of idle slots (POST /admin/reset). */
  clear(): void {
    for (let s = 0; s < this.slots; s++) if (!this.busy[s]) this.held[s] = [];
  }
}

/**
 * Length of the common prefix of two chains of block hashes. A chained hash stands for its whole prefix, so
 * the prefixes agree up to k exactly when a[k-1] === b[k-1]: a binary search.
 */
export function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let lo = 0;
  let hi = Math.min(a.length, b.length);
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (a[mid - 1] === b[mid - 1]) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
