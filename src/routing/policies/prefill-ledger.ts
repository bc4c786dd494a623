// What this router instance still waits for each backend to prefill: the uncached prompt characters of its
// requests there that have not produced a first byte yet. The platform counts those requests per backend
// (BackendLoad.awaitingFirstByte); the ledger keeps each one's estimate in send order and, as the count falls,
// drops the oldest (engines admit requests first come, first served). Exact when one router serves the pool;
// with R replicas it is this replica's share.
import type { Candidate } from '../policy.ts';

const MAX_ENTRIES = 4096;

export class PrefillLedger {
  private readonly queues = new Map<string, number[]>();

  /** Pending prefill (characters) of `c`, trimmed to the platform's count; undefined if it gives none. */
  pending(c: Candidate): number | undefined {
    const count = c.load.awaitingFirstByte;
    if (count === undefined) return undefined;
    const q = this.queues.get(c.id);
    if (!q) return 0;
    if (q.length > count) q.splice(0, q.length - count);
    let sum = 0;
    for (const x of q) sum += x;
    return sum;
  }

  /** A request expected to prefill `chars` characters was just sent to `c` (as seen before sending). */
  add(c: Candidate, chars: number): void {
    let q = this.queues.get(c.id);
    if (!q) this.queues.set(c.id, (q = []));
    q.push(chars);
    // Keep what the platform still counts plus this request; without a count, a bound (trimmed in chunks).
    const keep = c.load.awaitingFirstByte === undefined ? MAX_ENTRIES : c.load.awaitingFirstByte + 1;
    if (q.length > keep && (keep < MAX_ENTRIES || q.length > 2 * MAX_ENTRIES)) q.splice(0, q.length - keep);
  }
}
