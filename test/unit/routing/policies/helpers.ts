import type { BackendLoad, Candidate, RoutingInput } from '../../../../src/routing/policies/policy.ts';

export function candidates(n: number, load: (i: number) => Partial<BackendLoad> = () => ({})): Candidate[] {
  return Array.from({ length: n }, (_, i) => ({ id: `b${i}`, weight: 1, maxConcurrency: 0, load: { inflight: 0, ...load(i) } }));
}

export function input(prefixHashes: number[], now = 0): RoutingInput {
  return { prefixHashes, promptChars: prefixHashes.length * 512, model: 'm', now };
}

/** A chain of distinct fake block hashes sharing the first `shared` with `base`. */
export function chain(base: number[], shared: number, extra: number, salt: number): number[] {
  return [...base.slice(0, shared), ...Array.from({ length: extra }, (_, i) => ((salt * 7919 + i * 104729) ^ 0x5bd1e995) >>> 0)];
}
