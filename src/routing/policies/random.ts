import { fmix32, unitFloat } from '../../util/hash.ts';
import type { Candidate, RoutingInput, RoutingPolicy, Selection } from './policy.ts';

/** Uniformly random backend, weighted by `weight`. Seeded so that replays are reproducible. */
export class RandomPolicy implements RoutingPolicy {
  readonly name = 'random';
  private state: number;

  constructor(seed = 0x2545f491) {
    this.state = seed >>> 0;
  }

  select(_input: RoutingInput, candidates: readonly Candidate[]): Selection {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let total = 0;
    for (const c of candidates) total += c.weight > 0 ? c.weight : 1;
    let x = unitFloat(fmix32(this.state)) * total;
    for (let i = 0; i < candidates.length; i++) {
      x -= candidates[i]!.weight > 0 ? candidates[i]!.weight : 1;
      if (x < 0) return { index: i, reason: 'random' };
    }
    return { index: candidates.length - 1, reason: 'random' };
  }
}
