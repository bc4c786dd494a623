// Gathers what many requests of one isolate produce into one send: a batch is sent when it holds `maxItems` or
// `maxWaitMs` after its first item, whichever comes first. add() returns the promise of the send that
// carries the items, so a request hands it to waitUntil and stays alive until its items are out; the request that
// opened a batch owns its timer and waits for it, so the send runs in a live request context.
export interface CoalescerOptions {
  maxItems: number;
  maxWaitMs: number;
}

interface OpenBatch<T> {
  items: T[];
  openedAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  sent: Promise<void>;
  release: () => void;
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

  /** Adds items; resolves once the batch holding them has been sent. Never rejects. */
  add(items: readonly T[]): Promise<void> {
    const batch = (this.open ??= this.openBatch());
    batch.items.push(...items);
    if (batch.items.length >= this.opts.maxItems || this.now() - batch.openedAt > this.opts.maxWaitMs) this.seal();
    return batch.sent;
  }

  /** Sends the open batch now. */
  flush(): Promise<void> {
    const batch = this.open;
    if (!batch) return Promise.resolve();
    this.seal();
    return batch.sent;
  }

  private openBatch(): OpenBatch<T> {
    let release!: () => void;
    const sent = new Promise<void>((resolve) => (release = resolve));
    const batch: OpenBatch<T> = { items: [], openedAt: this.now(), timer: undefined, sent, release };
    batch.timer = setTimeout(() => {
      if (this.open === batch) this.seal();
    }, this.opts.maxWaitMs);
    return batch;
  }

  private seal(): void {
    const batch = this.open;
    if (!batch) return;
    this.open = null;
    clearTimeout(batch.timer);
    this.send(batch.items)
      .catch((err: unknown) => console.error('kvroute: batched send failed', err))
      .finally(batch.release);
  }
}
