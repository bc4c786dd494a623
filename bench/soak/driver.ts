// The soak's closed loop: `concurrency` clients, each sending the mix's next request as soon as its last one
// ended, until told to stop; every answer is classified and counted as it arrives (nothing is kept per request).
import { send, type Router, type Seen } from '../../test/e2e/faults/harness.ts';
import { classify, Counts } from './outcomes.ts';
import { ABORT_SHARE, nextRequest, type SoakRequest } from './workload.ts';

export interface DriverTotals {
  /** By outcome label, over the whole run. */
  outcomes: Counts;
  /** By request shape and verdict ("chat_stream ok", "abort aborted", ...). */
  shapes: Counts;
  /** Requests the router answered (any status: each should leave one stored event), per tenant. */
  answered: number[];
  /** The same by verdict (ok, aborted, upstream, ...), per tenant: to tell which kind of request lost its event. */
  answeredBy: Counts[];
  /** One example of each defect label, to investigate. */
  defectExamples: Record<string, Seen & { shape: string }>;
}

export class Driver {
  readonly totals: DriverTotals;
  /** Outcomes since the last `drain()`, for the per-sample rate. */
  private interval = new Counts();
  private intervalFailures = new Counts();
  private stopping = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly router: Router,
    private readonly keys: string[],
    /** The share of streams the client leaves mid-way (workload.ts). */
    private readonly abortShare = ABORT_SHARE,
  ) {
    this.totals = { outcomes: new Counts(), shapes: new Counts(), answered: keys.map(() => 0), answeredBy: keys.map(() => new Counts()), defectExamples: {} };
  }

  start(concurrency: number): void {
    this.running = Promise.all(Array.from({ length: concurrency }, () => this.client())).then(() => undefined);
  }

  /** Stops sending; resolves once every client's last request has ended. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  /** Counts by verdict since the last call, and the failures among them by label (when each kind happened). */
  drain(): { verdicts: Counts; failures: Counts } {
    const out = { verdicts: this.interval, failures: this.intervalFailures };
    this.interval = new Counts();
    this.intervalFailures = new Counts();
    return out;
  }

  private async client(): Promise<void> {
    while (!this.stopping) {
      const r = nextRequest(this.keys.length, this.abortShare);
      this.record(r, await send(this.router, this.keys[r.tenant]!, r));
    }
  }

  private record(r: SoakRequest, s: Seen): void {
    const o = classify(s);
    this.totals.outcomes.add(o.label);
    this.totals.shapes.add(`${r.shape} ${o.verdict}`);
    this.interval.add(o.verdict);
    if (o.verdict !== 'ok' && o.verdict !== 'aborted') this.intervalFailures.add(o.label);
    if (s.status !== 0) {
      this.totals.answered[r.tenant]!++;
      this.totals.answeredBy[r.tenant]!.add(o.verdict);
    }
    if (o.verdict === 'defect' && !this.totals.defectExamples[o.label]) this.totals.defectExamples[o.label] = { ...s, shape: r.shape };
  }
}
