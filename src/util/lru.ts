// Bounded in-memory caches, built on lru-cache with the settings this project needs on both runtimes:
// - `ttlResolution: 0`: by default lru-cache debounces its clock with a setTimeout per lookup. On workerd a timer
//   belongs to the request that set it and may never fire once that request ends, which would freeze the clock
//   the cache reads and keep stale entries forever; it is also a timer per request on the hot path.
// - `grow: true` for caches a router holds per pool or per tenant: `maxSize` with a size of 1 per entry gives the same
//   bound on the entry count, with storage that grows with the entries instead of being allocated for the whole
//   bound up front (lru-cache's `max` allocates ~40 bytes per slot at once: 8 MB for 200,000 slots). Lookups cost
//   about 1.7x as much as with `max`, so caches on the request path that exist once per process keep `max`.
// - `now`: the caller's clock, so TTLs follow the same clock as the rest of the caller (and tests can move it).
// lru-cache's `fetch()` (one shared load for concurrent misses) is not used: on workerd a load started by one
// request is bound to that request's I/O context, and another request awaiting it hangs if the first one ends.
import { LRUCache } from 'lru-cache';

/** What lru-cache accepts as a key or value: anything but undefined and null. */
type Defined = NonNullable<unknown>;

export interface BoundedCacheOptions {
  /** Most entries kept; the least recently used go first. */
  max: number;
  /** Allocate storage as entries arrive rather than for `max` entries up front (see above). */
  grow?: boolean;
  /** Entries older than this are not served (omit for data that cannot go stale). */
  ttlMs?: number;
  now?: () => number;
}

export type BoundedCache<K extends Defined, V extends Defined> = LRUCache<K, V, unknown>;

export function boundedCache<K extends Defined, V extends Defined>(opts: BoundedCacheOptions): BoundedCache<K, V> {
  if (!(opts.max >= 1)) throw new RangeError(`a cache needs room for at least one entry, got max ${opts.max}`);
  const ttl = opts.ttlMs === undefined ? undefined : Math.max(1, Math.ceil(opts.ttlMs));
  const now = opts.now ?? Date.now;
  return new LRUCache<K, V, unknown>({
    ...(opts.grow ? { maxSize: opts.max, sizeCalculation: () => 1 } : { max: opts.max }),
    // lru-cache reads a start time of 0 as "no TTL", so the clock is offset by 1 ms (a test clock may start at 0).
    ...(ttl !== undefined ? { ttl, ttlResolution: 0, perf: { now: () => now() + 1 } } : {}),
    // A stale entry is not served, but stays until it is replaced, so that a reload can see what it replaces
    // (`get(key, { allowStale: true })`).
    noDeleteOnStaleGet: true,
  });
}

/** Memoises a pure function of a string (ids hashed on every request): at most `max` results are kept. */
export function memoised<V extends Defined>(fn: (key: string) => V, max = 10_000): (key: string) => V {
  const cache = boundedCache<string, V>({ max });
  return (key) => {
    let v = cache.get(key);
    if (v === undefined) cache.set(key, (v = fn(key)));
    return v;
  };
}
