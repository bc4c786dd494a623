// The routing step: pool -> healthy candidates -> policy -> a Decision value that is written to headers, events
// and logs. Pure and synchronous; state (in-flight counts, breakers, engine load) is read, not changed.
import type { ModelRoute, RuntimeBackend } from '../runtime-model/compile.ts';
import type { BackendLoad, Candidate, RoutingInput } from './policies/policy.ts';

/**
 * What the routing step reads of the backends' state, by backend URL. src/upstream/ keeps that state
 * (BackendStates in backend-state.ts) and calls this step on every attempt, so routing names only what it reads.
 */
export interface BackendStatesView {
  get(url: string): { readonly breaker: { allows(now: number): boolean }; readonly inflight: number; load(): BackendLoad };
}

export interface Decision {
  pool: string;
  backend: RuntimeBackend;
  policy: string;
  reason: string;
  /** 1-based attempt number (retries on another backend increase it). */
  attempt: number;
  /** In-flight count the router saw on the chosen backend when deciding. */
  inflightSeen: number;
  matchedBlocks?: number;
  prefixBlocks: number;
  /** How long the request waited for its policy's board lookup before it was placed (ms); absent without one. */
  lookupMs?: number;
}

/**
 * Picks a backend for `route`, skipping `exclude` (already tried) and backends whose breaker is open or that are
 * at their max concurrency. Returns null when nothing is eligible.
 */
export function decide(
  route: ModelRoute,
  input: RoutingInput,
  states: BackendStatesView,
  exclude: ReadonlySet<string>,
  attempt: number,
): Decision | null {
  const pool = route.pool;
  const eligible: RuntimeBackend[] = [];
  const candidates: Candidate[] = [];
  for (const b of pool.backends) {
    if (exclude.has(b.id)) continue;
    const s = states.get(b.url);
    if (!s.breaker.allows(input.now)) continue;
    if (b.maxConcurrency > 0 && s.inflight >= b.maxConcurrency) continue;
    eligible.push(b);
    candidates.push({ id: b.id, weight: b.weight, maxConcurrency: b.maxConcurrency, load: s.load() });
  }
  if (candidates.length === 0) return null;
  const sel = candidates.length === 1 ? { index: 0, reason: 'only-candidate' } : pool.policy.select(input, candidates);
  const backend = eligible[sel.index]!;
  return {
    pool: pool.name,
    backend,
    policy: pool.policy.name,
    reason: sel.reason,
    attempt,
    inflightSeen: candidates[sel.index]!.load.inflight,
    matchedBlocks: (sel as { matchedBlocks?: number }).matchedBlocks,
    prefixBlocks: input.prefixHashes.length,
  };
}

/**
 * Compact header form: `pool=gpu-a;backend=b2;policy=least-loaded;reason=least-loaded;attempt=1;inflight=3`, then
 * `prefix=`, `matched=` (blocks) and `lookup=` (ms) where they apply.
 */
export function decisionHeader(d: Decision): string {
  let s = `pool=${d.pool};backend=${d.backend.id};policy=${d.policy};reason=${d.reason};attempt=${d.attempt};inflight=${d.inflightSeen}`;
  if (d.prefixBlocks) s += `;prefix=${d.prefixBlocks}`;
  if (d.matchedBlocks !== undefined) s += `;matched=${d.matchedBlocks}`;
  if (d.lookupMs !== undefined) s += `;lookup=${d.lookupMs.toFixed(2)}`;
  return s;
}
