import type { Candidate, RoutingInput, RoutingPolicy, Selection } from './policy.ts';

/**
 * Smooth weighted round-robin (nginx's algorithm): each pick adds every candidate's weight to its credit and
 * takes the highest credit, which then pays the total. Equal weights give plain rotation. Credits are kept per
 * backend id, so a candidate list that changes (a backend down) does not reset the rotation.
 */
export class RoundRobinPolicy implements RoutingPolicy {
  readonly name = 'round-robin';
  private readonly credit = new Map<string, number>();

  select(_input: RoutingInput, candidates: readonly Candidate[]): Selection {
    let total = 0;
    let best = 0;
    let bestCredit = -Infinity;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i]!;
      const w = c.weight > 0 ? c.weight : 1;
      const credit = (this.credit.get(c.id) ?? 0) + w;
      this.credit.set(c.id, credit);
      total += w;
      if (credit > bestCredit) {
        bestCredit = credit;
        best = i;
      }
    }
    this.credit.set(candidates[best]!.id, bestCredit - total);
    return { index: best, reason: 'round-robin' };
  }
}
