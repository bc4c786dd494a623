// Shared by the fixed-memory tables keyed by block hash (prefix-popularity.ts, shared-placements.ts): a
// power-of-two array of slots read as 2-way sets, so a key is found in one of two slots with no probing.

/** Slots for a table asked to hold `slots`: the next power of two, at least 2 (one pair). */
export function pairTableSize(slots: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(2, slots)));
}

/**
 * The even slot of `k`'s pair in a table of mask + 2 slots (mask = size - 2). Block hashes are already well
 * mixed; the multiply guards against hashes that differ only in high bits.
 */
export function pairSlot(k: number, mask: number): number {
  return (Math.imul(k, 0x9e3779b1) >>> 8) & mask;
}
