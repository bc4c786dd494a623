// Small, fast, deterministic non-cryptographic hashes shared by the router (prefix keys, A/B buckets,
// rendezvous ranks) and the simulator (KV block hashes). Identical results on Node and workerd: only 32-bit
// integer arithmetic (Math.imul), no platform APIs.

/** murmur3's 32-bit finalizer: a cheap bijective mix with good avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Combines two 32-bit values into one (order matters). Used to chain block hashes. */
export function combine32(a: number, b: number): number {
  return fmix32((Math.imul(a ^ 0x9e3779b9, 0x01000193) ^ b) >>> 0);
}

/**
 * FNV-1a over the UTF-16 code units of s[start, end), seeded, then finalised with fmix32.
 * Hashing code units (not UTF-8 bytes) is deliberate: it needs no encoder, is identical in every JS runtime,
 * and is a pure function of the string, which is all an affinity key needs.
 */
export function hashString(s: string, seed = 0, start = 0, end = s.length): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = start; i < end; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** A uniform float in [0, 1) derived from a 32-bit hash. */
export function unitFloat(h: number): number {
  return (h >>> 0) / 4294967296;
}
