// Counts of work in progress that stay true even when the code that should end the work never runs again.
// On Workers a request's context can be torn down by the runtime (the client went away and no event said so):
// its timers, callbacks and finally-blocks are dropped, while isolate-wide state (a backend's in-flight count,
// the shadow limiter's slots) lives on. So every such count is a set of leases: work that is alive renews its
// lease as it makes progress; a lease not renewed within its time-to-live is taken back the next time anyone
// looks (and its owner told, from the context of whoever looked), instead of counting forever.

export class Lease {
  /** Set when the lease expired or was released. */
  ended = false;
  /** Its index in the Leases that holds it (-1 when none does). */
  slot = -1;
  constructor(
    public renewedAt: number,
    public ttlMs: number,
    /** Called if the lease expires (not if it is released): end the work from here, it will not end itself. */
    public onExpire?: () => void,
  ) {}

  /** Marks progress: the work is alive for another ttlMs (optionally a new one). */
  renew(now: number, ttlMs = this.ttlMs): void {
    this.renewedAt = now;
    this.ttlMs = ttlMs;
  }
}

/**
 * The held leases, in an array: each lease knows its slot, so a release swaps the last one into it. Not a Set: a
 * Set that takes and gives back a lease per request rebuilds its hash table every few requests, and V8 keeps each
 * old table linked to its successor. An old table the GC has promoted then keeps the requests of every later table
 * reachable until the next full collection, so each request's objects were promoted too. Together with V8's
 * pretenuring (src/runtimes/node-heap.ts) that had the Node router promote 15% of all it allocated
 * (docs/benchmarks.md, "Garbage collection on Node").
 */
export class Leases<L extends Lease = Lease> {
  private live: L[] = [];
  private checkedAt = -Infinity;

  /** Leases held now (expired ones are taken back at most every `checkEveryMs`, see expire()). */
  get size(): number {
    return this.live.length;
  }

  values(): IterableIterator<L> {
    return this.live.values();
  }

  add(lease: L): L {
    lease.slot = this.live.length;
    this.live.push(lease);
    return lease;
  }

  /** Gives a lease back; true the first time (a lease that expired was already taken back). */
  release(lease: L): boolean {
    if (lease.ended || !this.remove(lease)) return false;
    lease.ended = true;
    return true;
  }

  private remove(lease: L): boolean {
    const i = lease.slot;
    if (this.live[i] !== lease) return false; // held by another Leases, or not at all
    const last = this.live.pop()!;
    if (last !== lease) {
      this.live[i] = last;
      last.slot = i;
    }
    lease.slot = -1;
    return true;
  }

  /** Takes back leases not renewed within their ttl; cheap when called often (checks at most every interval). */
  expire(now: number, onTaken?: (lease: L) => void, checkEveryMs = 1_000): void {
    if (now - this.checkedAt < checkEveryMs) return;
    this.checkedAt = now;
    let expired: L[] | undefined;
    for (const l of this.live) if (now - l.renewedAt >= l.ttlMs) (expired ??= []).push(l);
    if (!expired) return;
    for (const l of expired) {
      this.remove(l);
      l.ended = true;
      onTaken?.(l);
      try {
        l.onExpire?.();
      } catch (err) {
        // The owner's context is gone; whatever it held there cannot be cleaned up from here.
        console.error('kvroute: cleaning up after an expired lease failed:', err instanceof Error ? err.stack : err);
      }
    }
  }
}
