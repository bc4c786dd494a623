// Prefix popularity shared by router instances that share nothing else.
//
// Which prefixes are hot decides the default policy's affinity key, so replicas that disagree on it send the
// turns of one conversation to different backends, and a replica that has not yet learnt that an agent prompt
// is hot pins everyone who uses it on one backend. Sixty-four edge isolates each seeing 1/64 of a tenant's
// traffic learn that slowly and differently. So each instance counts locally (answering at once, with no I/O)
// and, off the hot path every few seconds, sends the block hashes it saw to one board per tenant and pool (a
// Durable Object on Workers) and takes back the board's list of hot prefixes. Every instance then reads the
// same list; the board sees all the traffic, so it learns as fast as one router would.
import { HOT_PRIOR_THRESHOLDS, type HotList, type PopularitySource, PrefixPopularity, popularityKey } from './prefix-popularity.ts';

/** How often an instance exchanges popularity with the board. */
export const DEFAULT_POPULARITY_SYNC_MS = 2_000;
/** Prefixes below this share are left out of the list (hot thresholds are >= 0.125 / 64 backends). */
export const DEFAULT_MIN_SHARE = 0.001;
/** Requests an instance sends per sync at most (bounds the message); the rest of a busy interval counts locally only. */
export const MAX_BATCH_REQUESTS = 512;

/** A batch of requests' block hashes, flat: [count, h0, ..., h(count-1), count, ...]. */
export type PopularityBatch = Int32Array;

/** The aggregate: every instance's requests counted in one table (a Durable Object's state, or the lab's). */
export class PopularityBoard {
  private readonly pop: PrefixPopularity;
  constructor(halfLife: number) {
    this.pop = new PrefixPopularity(halfLife);
  }

  /** Counts a batch; returns the number of requests in it. Malformed tails are ignored. */
  ingest(batch: PopularityBatch): number {
    let i = 0;
    let n = 0;
    while (i < batch.length) {
      const len = batch[i]!;
      if (len < 0 || i + 1 + len > batch.length) break;
      this.pop.record(batch.subarray(i + 1, i + 1 + len));
      i += 1 + len;
      n++;
    }
    return n;
  }

  /**
   * The prefixes worth listing: above `minShare`, and carried by more than HOT_PRIOR_THRESHOLDS requests, as no
   * other can be hot. Without that count a young or quiet board, where one request is already 0.1% of all it has
   * seen, listed every block it had seen (4,096 entries, 133 kB as JSON per exchange).
   */
  hotList(minShare = DEFAULT_MIN_SHARE, limit = 4096): HotList {
    return this.pop.hot(minShare, limit, HOT_PRIOR_THRESHOLDS);
  }
}

/** One router instance's view: local counts until the board has answered, the board's list after. */
export class SharedPopularity implements PopularitySource {
  private readonly local: PrefixPopularity;
  private board: Map<number, number> | undefined;
  private boardWeight = 0;
  private outbox: number[] = [];
  private pending = 0;

  constructor(halfLife: number) {
    this.local = new PrefixPopularity(halfLife);
  }

  share(h: number, prior = 0): number {
    // The board's list is authoritative once it has seen more requests than this instance.
    if (this.board && this.boardWeight >= this.local.weight) {
      const s = this.board.get(popularityKey(h)) ?? 0;
      return (s * this.boardWeight) / (this.boardWeight + prior);
    }
    return this.local.share(h, prior);
  }

  record(hashes: ArrayLike<number>): void {
    this.local.record(hashes);
    if (this.pending < MAX_BATCH_REQUESTS) {
      this.pending++;
      this.outbox.push(hashes.length);
      for (let i = 0; i < hashes.length; i++) this.outbox.push(hashes[i]! | 0);
    }
  }

  /** Requests recorded since the last take. */
  get pendingRequests(): number {
    return this.pending;
  }

  /** Hands over the requests recorded since the last call (to be sent to the board). */
  takeBatch(): PopularityBatch {
    const out = Int32Array.from(this.outbox);
    this.outbox = [];
    this.pending = 0;
    return out;
  }

  /** Installs the board's answer. */
  applyHotList(list: HotList): void {
    const m = new Map<number, number>();
    for (let i = 0; i < list.hashes.length; i++) m.set(list.hashes[i]!, list.shares[i]!);
    this.board = m;
    this.boardWeight = list.weight;
  }
}
