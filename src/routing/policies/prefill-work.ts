// How much prefill work each backend has ahead of a request, in prompt characters (~4 per token): the load the
// default policy balances and bounds. Counting requests made a long agent session weigh as much as a one-line
// question, although its prefill takes many times longer (on a 4-slot llama.cpp engine, the sessions piled onto two
// backends and their queues set the p99).
//
// Two parts, both O(1) per backend:
// - this instance's requests there still waiting for their first byte, each at the prompt characters it was
//   expected to prefill (BackendLoad.prefillChars, summed by the platform). With one router that is all of it.
// - other routers' requests the engine reports queued: its waiting requests (vLLM's queue, llama.cpp's deferred
//   ones) plus this instance's sends since the report, beyond this instance's own awaiting requests, each counted
//   as a typical request (the running mean of what this instance places). A report older than staleMs is ignored.
// The engine's KV usage is not part of it: an idle llama.cpp slot keeps its prompt, so its usage stays near 1
// however idle the engine is, and a full vLLM cache shows as waiting requests.
import type { Candidate } from './policy.ts';
import { type SendLog, weightedTotal } from './load.ts';

/** Weight of each new request in the running mean of a request's prefill (a window of ~50 requests). */
const TYPICAL_ALPHA = 0.02;

export class PrefillWork {
  /** Running mean of the prefill characters of the requests this instance placed: the work of one it cannot see. */
  typical = 0;

  /** A request expected to prefill `chars` characters was placed. */
  observe(chars: number): void {
    this.typical = this.typical === 0 ? chars : this.typical + TYPICAL_ALPHA * (chars - this.typical);
  }

  /** Prefill work (characters, per unit of weight) queued on `c` as this instance can tell. */
  of(c: Candidate, now: number, staleMs: number, sends: SendLog): number {
    const l = c.load;
    let work = l.prefillChars ?? 0;
    if (l.waiting !== undefined && l.observedAt !== undefined && now - l.observedAt <= staleMs) {
      const others = l.waiting + sends.since(c.id, l.observedAt) - (l.awaitingFirstByte ?? 0);
      if (others > 0) work += others * this.typical;
    }
    return work / (c.weight > 0 ? c.weight : 1);
  }
}

/**
 * The bounded-load rule on prefill work: backend i may take another request while the work it has queued is
 * within factor x the pool's mean (per unit of weight) + slack. The request's own work is left out, so that a long
 * prompt is not refused by an idle pool; `slack` (one typical request) lets a backend hold a request or so more
 * than its share before its conversations move, as the ceiling does for request counts.
 */
export function workCap(work: readonly number[], candidates: readonly Candidate[], factor: number, slack: number): (i: number) => boolean {
  const { total, weights } = weightedTotal(work, candidates);
  const cap = (factor * total) / weights + slack;
  return (i) => work[i]! <= cap;
}
