// The one routing-policy interface. Every backend-selection strategy implements it; the router's hot path and
// the offline replay lab both call it, so the lab measures the code that serves traffic.
// Policies are synchronous and do no I/O: everything they need arrives in the arguments.
import { DEFAULT_BLOCK_CHARS } from '../../config/affinity.ts';
import type { CacheReceipt } from '../../types/cache-receipt.ts';

/** Characters per hashed block when a RoutingInput does not say: the affinity config's default. */
export { DEFAULT_BLOCK_CHARS };

/** Load of one backend as the router sees it. Fields other than `inflight` are optional engine reports. */
export interface BackendLoad {
  /** Requests this router instance currently has open to the backend (per isolate / per replica). */
  inflight: number;
  /** Engine-reported running sequences (e.g. vllm:num_requests_running), if known. */
  running?: number;
  /** Engine-reported queued sequences (e.g. vllm:num_requests_waiting), if known. */
  waiting?: number;
  /** Engine-reported KV-cache usage in [0, 1], if known. */
  kvUsage?: number;
  /** Router-clock time (ms) at which running/waiting/kvUsage were observed; lets a policy discount stale load. */
  observedAt?: number;
  /** This instance's in-flight count when running/waiting were observed: its share of the engine's load then. */
  inflightAtReport?: number;
  /** This instance's requests to the backend that have not produced a first byte yet (their prefill is pending). */
  awaitingFirstByte?: number;
  /**
   * Prompt characters those requests still have to prefill (~4 per token): each counted at its prompt's size less
   * what the policy believed was cached where it went (Selection.matchedBlocks), until its first byte.
   */
  prefillChars?: number;
  /** Uncached prompt tokens per second the engine writes to its KV cache, averaged over minutes (upstream/fill-rate.ts). */
  fillRate?: number;
  /** Engine-reported busy and total slots, where the engine has a fixed number of slots and lists them (llama.cpp). */
  slotsBusy?: number;
  slotsTotal?: number;
}

/** One backend the policy may choose. The candidate list is already filtered to healthy, allowed backends. */
export interface Candidate {
  /** Stable identity (the backend id from config). Hash-based policies rank on this, never on list position. */
  id: string;
  weight: number;
  /** Max concurrent requests the config allows on this backend (0 = unlimited). */
  maxConcurrency: number;
  load: BackendLoad;
}

/** What a policy knows about the request. */
export interface RoutingInput {
  /** Chained prefix-block hashes of the request's canonical text (empty when affinity is off). */
  prefixHashes: ArrayLike<number>;
  /** Characters covered by the request's canonical text (not capped). */
  promptChars: number;
  /** Characters per hashed block (default 512): how much prompt a matched block stands for. */
  blockChars?: number;
  /** Model name as seen by the backend pool (hash seeds include it). */
  model: string;
  /** Router clock in ms. */
  now: number;
}

/** What an engine says it served from its prefix cache (policies learn from it in onReceipt): a shared type. */
export type { CacheReceipt } from '../../types/cache-receipt.ts';

export interface Selection {
  /** Index into the candidates array. */
  index: number;
  /** Short machine-readable reason, e.g. "least-loaded", "affinity", "spill:2". Goes into the decision header. */
  reason: string;
  /** Prefix blocks the policy believes are cached on the chosen backend, if it tracks that. */
  matchedBlocks?: number;
}

/** Prompt characters a request leaves to prefill where `matchedBlocks` of its hashed blocks are cached. */
export function uncachedChars(input: Pick<RoutingInput, 'promptChars' | 'blockChars'>, matchedBlocks: number): number {
  return Math.max(0, input.promptChars - matchedBlocks * (input.blockChars ?? DEFAULT_BLOCK_CHARS));
}

export interface RoutingPolicy {
  readonly name: string;
  /** Chooses one of `candidates` (non-empty). Must not mutate the candidates. */
  select(input: RoutingInput, candidates: readonly Candidate[]): Selection;
  /** Optional: told where a request was actually sent (after retries), so stateful policies can learn. */
  onRouted?(input: RoutingInput, backendId: string): void;
  /**
   * Optional, asked before select(): a promise when this request is worth waiting for fresher shared state
   * (e.g. a long prompt the policy would otherwise place blind). The caller awaits it, then calls select().
   * The promise settles within the policy's own time bound and never rejects; undefined means route at once.
   * `poolSize` is the number of backends in the pool (candidates are only known at select()).
   */
  prepare?(input: RoutingInput, poolSize: number): Promise<void> | undefined;
  /**
   * Optional: told what the engine of `backendId` served from cache for a request this policy placed there (after
   * the response). A placement that did not hit lets the policy correct its belief of where the prefix lives.
   */
  onReceipt?(input: RoutingInput, backendId: string, receipt: CacheReceipt): void;
}
