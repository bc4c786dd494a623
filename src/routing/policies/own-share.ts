// Does this router instance carry the pool's whole load, or a share of it? The engine reports how many requests
// it runs and queues; the platform notes how many of its own were in flight when each report was taken
// (BackendLoad.inflightAtReport). Their ratio is ~1 for a single router (a Node process in front of the pool)
// and ~1/R for one of R edge isolates. Smoothed, with hysteresis so two replicas near one half cannot flip.
import type { Candidate } from './policy.ts';

const ENTER = 0.85;
const LEAVE = 0.7;

export class OwnShare {
  /** Smoothed share of the engines' load that is this instance's. */
  value = 0;
  alone = false;
  private samples = 0;

  /** Folds in the candidates' fresh reports (older than staleMs are skipped). */
  observe(candidates: readonly Candidate[], now: number, staleMs: number): void {
    let own = 0;
    let reported = 0;
    for (const c of candidates) {
      const l = c.load;
      if (l.observedAt === undefined || l.inflightAtReport === undefined || now - l.observedAt > staleMs) continue;
      if (l.running === undefined && l.waiting === undefined) continue;
      own += l.inflightAtReport;
      reported += (l.running ?? 0) + (l.waiting ?? 0);
    }
    if (reported < candidates.length) return; // too little load to tell
    // A running mean over the first observations, then an exponential average over ~20.
    this.samples++;
    this.value += Math.max(0.05, 1 / this.samples) * (Math.min(1, own / reported) - this.value);
    if (this.value > ENTER) this.alone = true;
    else if (this.value < LEAVE) this.alone = false;
  }
}
