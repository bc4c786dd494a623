// What any router could reach on a trace, on the engine's own block hashes and hit rule (full 16-token
// blocks, at most promptTokens - 1 tokens, since vLLM always recomputes the last prompt token):
// - bound: an unlimited cache (every block ever computed stays);
// - pooled: one LRU cache with all backends' capacity together, as if the pool were one big engine.
import { ENGINE_BLOCK_TOKENS, type LabRequest } from './prepare.ts';

function hitBlocks(r: LabRequest, has: (h: number) => boolean): number {
  const max = Math.floor((r.promptTokens - 1) / ENGINE_BLOCK_TOKENS);
  let n = 0;
  for (const chunk of r.engineChunks) {
    for (const h of chunk) {
      if (n >= max || !has(h)) return n;
      n++;
    }
  }
  return n;
}

export function boundHitRate(requests: readonly LabRequest[]): number {
  const seen = new Set<number>();
  let hit = 0;
  let total = 0;
  for (const r of requests) {
    hit += hitBlocks(r, (h) => seen.has(h)) * ENGINE_BLOCK_TOKENS;
    total += r.promptTokens;
    for (const c of r.engineChunks) for (const h of c) seen.add(h);
  }
  return total ? hit / total : 0;
}

export function pooledHitRate(requests: readonly LabRequest[], capacityTokens: number): number {
  const capacity = Math.floor(capacityTokens / ENGINE_BLOCK_TOKENS);
  const lru = new Map<number, true>();
  let hit = 0;
  let total = 0;
  for (const r of requests) {
    hit += hitBlocks(r, (h) => lru.has(h)) * ENGINE_BLOCK_TOKENS;
    total += r.promptTokens;
    // Touch the tail first so the prefix is the most recent (the engine frees and evicts tails first).
    for (let i = r.engineChunks.length - 1; i >= 0; i--) {
      const c = r.engineChunks[i]!;
      for (let j = c.length - 1; j >= 0; j--) {
        lru.delete(c[j]!);
        lru.set(c[j]!, true);
      }
    }
    let excess = lru.size - capacity;
    if (excess > 0) {
      for (const h of lru.keys()) {
        lru.delete(h);
        if (--excess === 0) break;
      }
    }
  }
  return total ? hit / total : 0;
}
