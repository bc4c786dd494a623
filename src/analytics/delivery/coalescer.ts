// Gathers what many requests of one isolate produce into one send: a batch is sent when it holds `maxItems` or
// `maxWaitMs` after its first item, whichever comes first. add() returns a promise that settles once the batch
// carrying the items has been sent, so a request hands it to waitUntil and stays alive until its items are out.
//
// No promise crosses from one request to another. On Workers a promise made in one request's context and
// settled from another's makes the runtime hand the continuation over between contexts; when the waiting
// request is gone by then (its client left), workerd logs "cross-thread PromiseFulfiller was destroyed" and
// "a promise was resolved ... from a different request context" (the soak logged ~35 a second while workerd's
// memory outside every V8 heap grew). So each caller waits with its own timers for a plain flag on the batch, and whoever
// sends a batch (a full add, or the first caller to find it due) sends it from its own context.
export interface CoalescerOptions {
  maxItems: number;
  maxWaitMs: number;
}

interface OpenBatch<T> {
  items: T[];
  openedAt: number;
  /** Set once the send has been handed to `send`, and once it has finished. */
  sealed: boolean;
  done: boolean;
}

/** How often a caller whose batch another caller is sending looks whether it is done. */
const POLL_MS = 25;
/** A caller stops waiting for a send that another request started and never finished (its context died). */
const GIVE_UP_MS = 60_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Coalescer<T> {
  private open: OpenBatch<T> | null = null;

  /** `send` must not reject (it handles its own failures): a rejection is logged and the batch counts as sent. */
  constructor(
    private readonly send: (items: T[]) => Promise<void>,
    private readonly opts: CoalescerOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Items waiting for their batch to be sent. */
  get pending(): number {
    return this.open?.items.length ?? 0;
  }

  /** Adds items; resolves once the batch holding them has been sent (see GIVE_UP_MS). Never rejects. */
  add(items: readonly T[]): Promise<void> {
    const batch = (this.open ??= { items: [], openedAt: this.now(), sealed: false, done: false });
    batch.items.push(...items);
    if (batch.items.length >= this.opts.maxItems || this.now() - batch.openedAt > this.opts.maxWaitMs) return this.seal(batch);
    return this.waitFor(batch);
  }

  /** Sends the open batch now. */
  flush(): Promise<void> {
    return this.open ? this.seal(this.open) : Promise.resolve();
  }

  /** Waits on this caller's own timers until another caller has sent the batch, or it is due (then sends it). */
  private async waitFor(batch: OpenBatch<T>): Promise<void> {
    const start = this.now();
    while (!batch.done && this.now() - start < this.opts.maxWaitMs + GIVE_UP_MS) {
      if (!batch.sealed && this.now() - batch.openedAt >= this.opts.maxWaitMs) return this.seal(batch);
      await sleep(Math.min(POLL_MS, this.opts.maxWaitMs));
    }
  }

  /** Sends `batch` from the caller's context; resolves when the send has finished. */
  private async seal(batch: OpenBatch<T>): Promise<void> {
    if (this.open === batch) this.open = null;
    batch.sealed = true;
    try {
      await this.send(batch.items);
    } catch (err) {
      console.error('kvroute: batched send failed', err);
    } finally {
      batch.done = true;
    }
  }
}
