// Where each affinity key was sent, shared by router instances through the same board as popularity
// (shared-popularity.ts). One router's index knows where its own conversations live; with 64 edge isolates each
// knows 1/64 of them, and a conversation's next turn usually lands on another isolate. Each instance logs its
// placements (key -> backend) and, every sync, sends them to the board and takes back everyone else's since
// its last cursor. A next turn arrives after a think time of seconds to minutes, the sync runs every 2 s, so
// nearly every turn finds where its conversation went, whichever isolate placed it and however it was placed.
//
// Backends are named by a 32-bit hash of their configured id, so instances agree without sharing list order.
import { idHasher } from '../../util/hash.ts';
import { boundedCache, type BoundedCache } from '../../util/lru.ts';
import { pairSlot, pairTableSize } from './pair-table.ts';

const idHash = idHasher(0x706c6163);

/** The wire name of a backend id. */
export function backendHash(id: string): number {
  return idHash(id) | 0;
}

/** What the board answers about placements: everything since the caller's cursor (or the newest part of it). */
export interface PlacementDelta {
  cursor: number;
  /** Flat pairs: key, backend hash, key, backend hash, ... */
  pairs: Int32Array;
}

/** The board's side: the latest placement of every key, as an append-only log with a sequence number. */
export class PlacementLog {
  private readonly keys: Int32Array;
  private readonly backends: Int32Array;
  private seq = 0;

  /** @param capacity placements kept; an instance further behind than this gets the newest `capacity` */
  constructor(private readonly capacity = 65_536) {
    this.keys = new Int32Array(capacity);
    this.backends = new Int32Array(capacity);
  }

  /** Appends flat (key, backend hash) pairs. */
  append(pairs: ArrayLike<number>): void {
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const slot = this.seq % this.capacity;
      this.keys[slot] = pairs[i]!;
      this.backends[slot] = pairs[i + 1]!;
      this.seq++;
    }
  }

  /** Placements after `cursor` (at most `limit`, the newest), and the cursor to ask from next time. */
  since(cursor: number, limit = this.capacity): PlacementDelta {
    const from = Math.max(cursor, this.seq - Math.min(limit, this.capacity), 0);
    const n = this.seq - from;
    const pairs = new Int32Array(2 * Math.max(0, n));
    for (let j = 0; j < n; j++) {
      const slot = (from + j) % this.capacity;
      pairs[2 * j] = this.keys[slot]!;
      pairs[2 * j + 1] = this.backends[slot]!;
    }
    return { cursor: this.seq, pairs };
  }
}

/**
 * The board's memory of where each key last went, longer than its log: a fixed table (2-way set-associative;
 * a new key takes the older entry of its pair). The log tells isolates what changed since their cursor, but
 * keeps only the newest 65,536 placements: ~30 s of a pool serving 1,000 requests a second. A lookup asks this
 * table about the blocks of its own prompt instead, however long ago they were placed.
 */
export class PlacementTable {
  private keys: Int32Array;
  private backends: Int32Array;
  /** When each slot was last set (0: empty). */
  private stamps: Float64Array;
  private mask: number;
  private used = 0;
  private seq = 0;
  private readonly maxSize: number;

  /**
   * @param maxSlots largest table (rounded up to a power of two), 16 bytes a slot: 8 MB by default. It starts
   *   at 4,096 slots and doubles once a quarter full, so a quiet pool's board stays small (boards of many pools
   *   may share one Durable Object isolate's memory).
   */
  constructor(maxSlots = 1 << 19) {
    this.maxSize = pairTableSize(maxSlots);
    const size = Math.min(this.maxSize, 4096);
    this.keys = new Int32Array(size);
    this.backends = new Int32Array(size);
    this.stamps = new Float64Array(size);
    this.mask = size - 2; // even slot of a pair
  }

  /** Slots allocated now. */
  get size(): number {
    return this.keys.length;
  }

  /** Records flat (key, backend hash) pairs, later pairs newer. */
  setAll(pairs: ArrayLike<number>): void {
    for (let i = 0; i + 1 < pairs.length; i += 2) this.set(pairs[i]! | 0, pairs[i + 1]! | 0, ++this.seq);
  }

  /** Flat (key, backend hash) pairs for those of `keys` the table knows. */
  lookup(keys: ArrayLike<number>): Int32Array {
    const out: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]! | 0;
      const at = this.find(k, this.slot(k));
      if (at >= 0) out.push(k, this.backends[at]!);
    }
    return Int32Array.from(out);
  }

  private set(k: number, backend: number, stamp: number): void {
    if (4 * this.used >= this.keys.length && this.keys.length < this.maxSize) this.grow(); // a quarter full: few pairs collide
    const s = this.slot(k);
    const at = this.find(k, s);
    const victim = at >= 0 ? at : this.stamps[s]! <= this.stamps[s + 1]! ? s : s + 1;
    if (this.stamps[victim] === 0) this.used++;
    this.keys[victim] = k;
    this.backends[victim] = backend;
    this.stamps[victim] = stamp;
  }

  /** Doubles the table, re-adding every entry oldest first (so a pair that still collides keeps the newer). */
  private grow(): void {
    const { keys, backends, stamps } = this;
    const order = [...stamps.keys()].filter((i) => stamps[i]! > 0).sort((a, b) => stamps[a]! - stamps[b]!);
    const size = keys.length * 2;
    this.keys = new Int32Array(size);
    this.backends = new Int32Array(size);
    this.stamps = new Float64Array(size);
    this.mask = size - 2;
    this.used = 0;
    for (const i of order) this.set(keys[i]!, backends[i]!, stamps[i]!);
  }

  private find(k: number, s: number): number {
    if (this.stamps[s]! > 0 && this.keys[s] === k) return s;
    if (this.stamps[s + 1]! > 0 && this.keys[s + 1] === k) return s + 1;
    return -1;
  }

  private slot(k: number): number {
    return pairSlot(k, this.mask);
  }
}

/** One instance's view: everyone's placements as of the last sync, plus its own since. */
export class PlacementView {
  /** Key -> backend hash; the least recently placed keys are forgotten first (lookups do not count as use). */
  private readonly known: BoundedCache<number, number>;
  private outbox: number[] = [];
  private cursor = 0;

  /** @param toBoard whether placements are sent to a board; a view that is never synced keeps no outbox */
  constructor(capacity = 200_000, private readonly toBoard = true) {
    this.known = boundedCache({ max: capacity, grow: true });
  }

  /** The backend (hash) key `key` was last placed on, if any instance has said so. */
  get(key: number): number | undefined {
    return this.known.peek(key | 0);
  }

  /** This instance placed `key` on the backend with id `backendId`. */
  record(key: number, backendId: string): void {
    const b = backendHash(backendId);
    if (this.known.peek(key | 0) === b) return; // nothing new to tell
    this.known.set(key | 0, b);
    if (this.toBoard && this.outbox.length < 2 * 65_536) this.outbox.push(key | 0, b);
  }

  get pending(): number {
    return this.outbox.length >> 1;
  }

  /** Hands over this instance's placements since the last call, and the cursor to ask the board from. */
  take(): { pairs: Int32Array; cursor: number } {
    const pairs = Int32Array.from(this.outbox);
    this.outbox = [];
    return { pairs, cursor: this.cursor };
  }

  /** Installs the board's delta (which includes this instance's own placements; they are the same). */
  apply(delta: PlacementDelta): void {
    this.applyPairs(delta.pairs);
    this.cursor = delta.cursor;
  }

  /**
   * Installs (key, backend hash) pairs from the board, except for keys this instance placed after its request
   * left (still in the outbox): the answer cannot know those, and what it says of them is older.
   */
  applyPairs(pairs: Int32Array): void {
    let mine: Set<number> | undefined;
    if (this.outbox.length > 0) {
      mine = new Set();
      for (let i = 0; i < this.outbox.length; i += 2) mine.add(this.outbox[i]!);
    }
    for (let i = 0; i + 1 < pairs.length; i += 2) if (!mine?.has(pairs[i]!)) this.known.set(pairs[i]!, pairs[i + 1]);
  }
}
