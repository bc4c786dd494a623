// Gathers what many requests of one isolate produce into one send: a batch is sent when it holds `maxItems` or
// `maxWaitMs` after its first item, whichever comes first.
//
// On Workers every promise a request waits on must be settled from that request's own context: a request whose
// only wait is on another request's I/O is cancelled as hung, and settling a promise across contexts is refused.
// So only two requests wait per batch, each on work in its own context: the one that opened it (its timer sends
// the batch, or finds it already sent) and the one that filled it (it sends the batch). add() returns their
// promise and nothing to the others, whose items travel with the batch all the same. The opener's context can
// still be torn down (its client left) and its timer with it: a batch found older than its time by a later add()
// is sent from there.
export interface CoalescerOptions {
  maxItems: number;
  maxWaitMs: number;
}

interface OpenBatch<T> {
  items: T[];
  openedAt: number;
}

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

  /**
   * Adds items. Returns a promise (never rejecting) when this call opened or sent the batch: hand it to waitUntil.
   * Returns undefined when the items joined a batch another request will send.
   */
  add(items: readonly T[]): Promise<void> | undefined {
    let batch = this.open;
    if (batch && this.now() - batch.openedAt > this.opts.maxWaitMs) {
      this.open = null; // its opener's timer is overdue: send it from here, with these items
      batch.items.push(...items);
      return this.sendNow(batch);
    }
    if (!batch) {
      batch = this.open = { items: [...items], openedAt: this.now() };
      if (batch.items.length >= this.opts.maxItems) {
        this.open = null;
        return this.sendNow(batch);
      }
      return this.afterWait(batch);
    }
    batch.items.push(...items);
    if (batch.items.length < this.opts.maxItems) return undefined;
    this.open = null;
    return this.sendNow(batch);
  }

  /** Sends the open batch now (on shutdown, or from a test). */
  flush(): Promise<void> {
    const batch = this.open;
    if (!batch) return Promise.resolve();
    this.open = null;
    return this.sendNow(batch);
  }

  /** The opener's wait: after maxWaitMs, sends the batch unless someone already did. */
  private afterWait(batch: OpenBatch<T>): Promise<void> {
    return new Promise<void>((resolve) => setTimeout(resolve, this.opts.maxWaitMs)).then(() => {
      if (this.open !== batch) return undefined;
      this.open = null;
      return this.sendNow(batch);
    });
  }

  private sendNow(batch: OpenBatch<T>): Promise<void> {
    return this.send(batch.items).catch((err: unknown) => console.error('kvroute: batched send failed', err));
  }
}
