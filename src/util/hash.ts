// Small, fast, deterministic non-cryptographic hashes shared by the router (prefix keys, A/B buckets,
// rendezvous ranks) and the simulator (KV block hashes). Identical results on Node and workerd: only 32-bit
// integer arithmetic (Math.imul), no platform APIs.
import { memoised } from './lru.ts';

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

/** FNV-1a's 32-bit offset basis and prime (hashString; written out where a loop over grams inlines it). */
export const FNV_OFFSET = 0x811c9dc5;
export const FNV_PRIME = 0x01000193;

/**
 * FNV-1a over the UTF-16 code units of s[start, end), seeded, then finalised with fmix32.
 * Hashing code units (not UTF-8 bytes) is deliberate: it needs no encoder, is identical in every JS runtime,
 * and is a pure function of the string, which is all an affinity key needs.
 */
export function hashString(s: string, seed = 0, start = 0, end = s.length): number {
  let h = (FNV_OFFSET ^ seed) >>> 0;
  for (let i = start; i < end; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return fmix32(h);
}

/** A uniform float in [0, 1) derived from a 32-bit hash. */
export function unitFloat(h: number): number {
  return (h >>> 0) / 4294967296;
}

// Reusable scratch for hashUtf8Blocks (grown on demand; the function is synchronous, so sharing is safe).
const utf8 = new TextEncoder();
let scratch = new Uint8Array(0);
let scratchWords = new Uint32Array(0);

/**
 * Chained hashes of the first `maxBlocks` full blocks of `blockBytes` UTF-8 bytes of the concatenation of `parts`
 * (a trailing partial block is ignored). Block i's hash depends on every byte before its end, so equal hashes at
 * depth k mean an equal first k blocks. Fast path for long prompts: the parts are encoded natively, one after the
 * other, into a scratch buffer (no joined string is built), then mixed FNV-style as 32-bit little-endian words:
 * about 20-30 us for 50k characters, versus ~4 ns per character for a per-character loop.
 * `blockBytes` must be a multiple of 4.
 */
export function hashUtf8Blocks(parts: string | readonly string[], seed: number, blockBytes: number, maxBlocks: number): Uint32Array {
  const capBytes = blockBytes * maxBlocks;
  if (scratch.length < capBytes) {
    scratch = new Uint8Array(capBytes);
    scratchWords = new Uint32Array(scratch.buffer);
  }
  let written = 0;
  for (const part of typeof parts === 'string' ? [parts] : parts) {
    const room = capBytes - written;
    if (room <= 0) break;
    // A character is at least one byte, so `room` characters are always enough to fill what is left.
    const input = part.length > room ? part.slice(0, room) : part;
    const r = utf8.encodeInto(input, scratch.subarray(written, capBytes));
    written += r.written;
    if (r.read < input.length) break; // the buffer filled up inside this part
  }
  const blocks = Math.min(maxBlocks, Math.floor(written / blockBytes));
  const out = new Uint32Array(blocks);
  const wordsPerBlock = blockBytes >>> 2;
  const words = scratchWords;
  let h = (0x811c9dc5 ^ seed) | 0;
  for (let b = 0, w = 0; b < blocks; b++) {
    for (const end = w + wordsPerBlock; w < end; w++) {
      h ^= words[w]!;
      h = Math.imul(h, 0x01000193);
    }
    h = fmix32(h);
    out[b] = h;
  }
  return out;
}

/**
 * A memoised hashString(id, seed) for identifiers hashed on every request (backend ids); at most 10,000 are
 * kept (least recently used first out), so ids that come and go cannot grow it without bound.
 */
export function idHasher(seed: number): (id: string) => number {
  return memoised((id) => hashString(id, seed));
}
