import type { Candidate, RoutingInput, RoutingPolicy, Selection } from './policy.ts';

/** Load score used by load-aware policies: in-flight requests relative to weight. */
export function loadScore(c: Candidate): number {
  return c.load.inflight / (c.weight > 0 ? c.weight : 1);
}

/**
 * Picks the candidate with the fewest in-flight requests per unit of weight. Ties rotate (a counter) so that an
 * idle pool is not served by its first backend alone.
 */
export class LeastLoadedPolicy implements RoutingPolicy {
  readonly name = 'least-loaded';
  private tie = 0;

  select(_input: RoutingInput, candidates: readonly Candidate[]): Selection {
    let best = -1;
    let bestScore = Infinity;
    let ties = 0;
    const offset = this.tie++;
    const n = candidates.length;
    for (let k = 0; k < n; k++) {
      const i = (k + offset) % n;
      const s = loadScore(candidates[i]!);
      if (s < bestScore) {
        bestScore = s;
        best = i;
        ties = 1;
      } else if (s === bestScore) ties++;
    }
    return { index: best, reason: ties > 1 ? 'least-loaded:tie' : 'least-loaded' };
  }
}
