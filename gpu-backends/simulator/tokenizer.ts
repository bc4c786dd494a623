// The simulator's tokenization rule, shared by the HTTP server and the routing lab so that both see the same
// token counts and the same KV block hashes for the same text.
//
// Rule: a token is 4 UTF-16 code units of the prompt text (the last token may be shorter), so
// tokens = ceil(length / 4). A KV block is 16 tokens = 64 code units. Block i's hash chains the hash of its 64
// code units onto block i-1's hash (vLLM's parent-hash chaining), so equal hashes mean equal whole prefixes.
// Only FULL blocks are hashed, as vLLM caches only full blocks. Cost: one pass over the string (no token
// array is ever built).
import { combine32, fmix32, hashString } from '../../src/util/hash.ts';

export const CHARS_PER_TOKEN = 4;
export const DEFAULT_BLOCK_SIZE_TOKENS = 16;

/** Number of tokens the simulator counts for `text`. */
export function countTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/** Root of the hash chain: the parent of block 0 (vLLM's NONE_HASH), derived from the seed. */
export function rootBlockHash(seed = 0): number {
  return fmix32((seed ^ 0x6b76726f) >>> 0);
}

/**
 * Token count and chained hashes of the prompt's full blocks.
 * `seed` plays the role of vLLM's hash seed / cache_salt: different seeds never share blocks.
 */
export function promptBlockHashes(
  text: string,
  seed = 0,
  blockSizeTokens = DEFAULT_BLOCK_SIZE_TOKENS,
): { tokens: number; blockHashes: number[] } {
  const tokens = countTokens(text);
  const fullBlocks = Math.floor(tokens / blockSizeTokens);
  const blockChars = blockSizeTokens * CHARS_PER_TOKEN;
  const blockHashes = new Array<number>(fullBlocks);
  let parent = rootBlockHash(seed);
  for (let i = 0; i < fullBlocks; i++) {
    const start = i * blockChars;
    // The last full block can end short of 64 chars when the final token is partial (e.g. 61..63 chars).
    const end = Math.min(start + blockChars, text.length);
    parent = combine32(parent, hashString(text, seed, start, end));
    blockHashes[i] = parent;
  }
  return { tokens, blockHashes };
}
