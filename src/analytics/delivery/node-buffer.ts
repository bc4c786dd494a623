// Durable delivery of analytics events on Node: a bounded in-memory buffer drained by one writer loop in
// batches, with retries and exponential backoff while the store is down, and an on-disk spool (spool.ts) so
// nothing is dropped:
//   * when the memory buffer is full, its events go to a sealed spool segment;
//   * while the store is failing (a write failed, or has been hanging for spillIntervalMs), the memory buffer and
//     the batch being retried go to the spool at once, new events are appended to an open segment as they come,
//     and that segment is fsync'd and sealed every spillIntervalMs. A process killed during an outage loses none of
//     them; a machine that crashes loses at most spillIntervalMs of events;
//   * a batch the store rejects as bad data is split (split.ts) and each event at fault becomes a dead letter:
//     appended to dead-letters.ndjson in the spool directory and written to the store's dead-letter table;
//   * close() delivers what it can before its deadline and spools the rest;
//   * at start(), segments left by an earlier process are replayed; their lines are checked against the event
//     schema first, and what does not pass is dead-lettered rather than sent.
// Delivery is at-least-once; the sinks are idempotent by event_id, so the stored result is exactly-once.
// With a healthy store, a SIGKILL loses what is only in memory (about lingerMs of events plus the batch being
// written); call close() on SIGTERM/SIGINT. One process per spool directory.
import { analyticsEventSchema, type AnalyticsEvent } from '../event.ts';
import { deadLetterOf, type DeadLetter } from '../dead-letter.ts';
import { errText, type AnalyticsSink } from '../sink.ts';
import { backoffMs } from '../../util/backoff.ts';
import { DEAD_LETTER_FILE, Spool } from './spool.ts';
import { writeSplitting } from './split.ts';

export interface NodeBufferOptions {
  sink: AnalyticsSink;
  spoolDir: string;
  /** Events held in memory before they spill to disk (default 10,000). */
  maxBuffered?: number;
  /** Events per sink write (default 500). */
  batchSize?: number;
  /**
   * Events per spool segment at most (default 2,000). A replay reads a segment whole, so this bounds the memory
   * a replay after an outage takes: whole 10,000-event segments raised the heap's high-water mark for good.
   */
  segmentEvents?: number;
  /** How long a partial batch may wait for more events (default 200 ms). */
  lingerMs?: number;
  /** Backoff after the first failure, doubling up to retryMaxMs, with +-20% jitter (defaults 100 ms / 5 s). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /**
   * While the store is failing, how often the spool is fsync'd, and how long a write may hang before the store
   * counts as failing (default 1000 ms).
   */
  spillIntervalMs?: number;
  /** Told about every failed write (logging). */
  onError?(err: unknown, attempt: number): void;
  /** Told about every dead letter (logging). */
  onDeadLetter?(letter: DeadLetter): void;
}

export interface NodeBufferStats {
  buffered: number;
  spooledSegments: number;
  delivered: number;
  spilledEvents: number;
  failedWrites: number;
  corruptLines: number;
  deadLetters: number;
  /** The last write failed (or is hanging): new events go straight to the spool. */
  storeFailing: boolean;
}

/** Dead-letter rows kept for a later table write when the store cannot take them now. */
const MAX_PENDING_LETTERS = 1_000;

interface Batch {
  events: AnalyticsEvent[];
  /** Spool segment holding the events: deleted once every event in it was delivered or dead-lettered. */
  segment?: string;
}

export class NodeEventBuffer {
  private readonly sink: AnalyticsSink;
  private readonly spool: Spool;
  private readonly maxBuffered: number;
  private readonly segmentEvents: number;
  private readonly batchSize: number;
  private readonly lingerMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly spillIntervalMs: number;
  private readonly onError?: (err: unknown, attempt: number) => void;
  private readonly onDeadLetter?: (letter: DeadLetter) => void;

  private mem: AnalyticsEvent[] = [];
  /** Sealed segments waiting to be delivered, oldest first. */
  private segments: string[] = [];
  private inflight: Batch | null = null;
  private running = false;
  private closed = false;
  private failing = false;
  private sealTimer: ReturnType<typeof setInterval> | null = null;
  private loopDone: Promise<void> = Promise.resolve();
  private wake: (() => void) | null = null;
  private waiting: 'idle' | 'linger' | 'backoff' | null = null;
  /** Set by drain()/close(): deliver partial batches without lingering. */
  private flushNow = false;
  private idleWaiters: (() => void)[] = [];
  /** Dead letters not yet in the store's table. */
  private tableLetters: DeadLetter[] = [];
  private s = { delivered: 0, spilledEvents: 0, failedWrites: 0, corruptLines: 0, deadLetters: 0 };

  constructor(opts: NodeBufferOptions) {
    this.sink = opts.sink;
    this.spool = new Spool(opts.spoolDir);
    this.maxBuffered = opts.maxBuffered ?? 10_000;
    this.segmentEvents = opts.segmentEvents ?? 2_000;
    this.batchSize = opts.batchSize ?? 500;
    this.lingerMs = opts.lingerMs ?? 200;
    this.retryBaseMs = opts.retryBaseMs ?? 100;
    this.retryMaxMs = opts.retryMaxMs ?? 5_000;
    this.spillIntervalMs = opts.spillIntervalMs ?? 1_000;
    this.onError = opts.onError;
    this.onDeadLetter = opts.onDeadLetter;
  }

  /** Picks up spool segments left by an earlier process and starts the writer loop. */
  start(): this {
    if (this.running) return this;
    this.running = true;
    this.segments = this.spool.list();
    this.loopDone = this.loop();
    return this;
  }

  /**
   * Accepts events; never blocks on the store and never drops: they go to memory, or to the spool when memory is
   * full or the store is failing (and stay in memory if the disk refuses them too).
   */
  enqueue(events: readonly AnalyticsEvent[]): void {
    if (events.length === 0) return;
    try {
      if (this.closed) {
        this.segments.push(...this.writeSegments(events));
        this.s.spilledEvents += events.length;
        return;
      }
      if (this.failing) {
        this.spool.append(events);
        this.s.spilledEvents += events.length;
        if (this.spool.openCount >= this.segmentEvents) this.sealOpenSegment(); // segments stay small enough to read whole
        return;
      }
      if (this.mem.length + events.length > this.maxBuffered) {
        this.spillMemory(events);
        return this.wakeFor();
      }
    } catch (err) {
      this.onError?.(new Error(`cannot spool ${events.length} events, keeping them in memory: ${errText(err)}`), 0);
    }
    for (const e of events) this.mem.push(e);
    this.wakeFor();
  }

  private wakeFor(): void {
    if (this.waiting === 'idle' || (this.waiting === 'linger' && (this.mem.length >= this.batchSize || this.segments.length))) this.wake?.();
  }

  stats(): NodeBufferStats {
    const inflightOnDisk = this.inflight?.segment && !this.segments.includes(this.inflight.segment) ? 1 : 0;
    return {
      buffered: this.mem.length + (this.inflight?.segment ? 0 : this.inflight?.events.length ?? 0),
      spooledSegments: this.segments.length + inflightOnDisk + (this.spool.openCount ? 1 : 0),
      storeFailing: this.failing,
      ...this.s,
    };
  }

  /** The store is failing (or hanging): events go straight to the spool. */
  get storeFailing(): boolean {
    return this.failing;
  }

  /** Cuts a retry backoff short (e.g. the store just became ready). */
  retrySoon(): void {
    if (this.waiting === 'backoff') this.wake?.();
  }

  /** Resolves true once memory and spool are empty (everything delivered), false after timeoutMs. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.isIdle()) return true;
    this.flushNow = true;
    if (this.waiting !== 'backoff') this.wake?.();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const idle = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const ok = await Promise.race([idle, late]);
    clearTimeout(timer);
    this.flushNow = false;
    return ok;
  }

  /**
   * Delivers for up to timeoutMs, then stops the writer and spools whatever is left (including a batch still
   * being written: if that write also lands, the sink's idempotency absorbs the duplicate).
   */
  async close(timeoutMs = 5_000): Promise<void> {
    if (this.closed) return;
    await this.drain(timeoutMs);
    this.closed = true;
    this.wake?.();
    const leftovers: AnalyticsEvent[] = [];
    if (this.inflight && !this.inflight.segment) leftovers.push(...this.inflight.events);
    leftovers.push(...this.mem);
    this.mem = [];
    if (leftovers.length) {
      this.writeSegments(leftovers);
      this.s.spilledEvents += leftovers.length;
    }
    this.stopSealing();
    // The loop exits at its next step; do not wait for a hung sink write.
    await Promise.race([this.loopDone, new Promise((r) => setTimeout(r, 50))]);
  }

  // ---- writer loop ------------------------------------------------------------------------------------------

  private async loop(): Promise<void> {
    for (let faults = 0; !this.closed; ) {
      try {
        if (!(await this.step())) return;
        faults = 0;
      } catch (err) {
        // A disk error (full, unreadable segment): report, wait, try again; never let the loop die.
        this.onError?.(err, ++faults);
        await this.sleep(backoffMs(faults, this.retryBaseMs, this.retryMaxMs), 'backoff');
      }
    }
  }

  /** One batch: waits for events, delivers them. False when the buffer closed meanwhile. */
  private async step(): Promise<boolean> {
    if (!this.segments.length && this.mem.length === 0) {
      this.notifyIdle();
      await this.sleep(60_000, 'idle');
      return true;
    }
    if (!this.segments.length && this.mem.length < this.batchSize && !this.flushNow) {
      await this.sleep(this.lingerMs, 'linger'); // let a partial batch fill up
      if (this.closed) return false;
    }
    const batch = this.inflight ?? (await this.nextBatch());
    if (!batch) return true;
    this.inflight = batch;
    if (!(await this.deliver(batch))) return false; // closed while retrying: close() spooled the in-memory part
    if (batch.segment) this.removeSegment(batch.segment);
    this.inflight = null;
    return true;
  }

  /** Spool segments first (oldest events), then memory. Segments are read whole (each holds <= segmentEvents). */
  private async nextBatch(): Promise<Batch | null> {
    while (this.segments.length) {
      const segment = this.segments[0]!; // the loop runs while there is one
      const events = await this.readSegment(segment);
      if (events?.length) return { events, segment };
      // Empty: delete it. Unreadable: leave the file for the next start, skip it now.
      if (events) this.removeSegment(segment);
      else this.segments.shift();
    }
    if (this.mem.length === 0) return null;
    const events = this.mem.length <= this.batchSize ? this.mem : this.mem.slice(0, this.batchSize);
    this.mem = this.mem.length <= this.batchSize ? [] : this.mem.slice(this.batchSize);
    return { events };
  }

  /**
   * Writes the batch in chunks of batchSize. A chunk the store rejects as data is split around the bad events
   * (dead-lettered); a chunk it cannot take now is retried with backoff until it lands. False if closed meanwhile.
   */
  private async deliver(batch: Batch): Promise<boolean> {
    for (let i = 0; i < batch.events.length; i += this.batchSize) {
      let pending = batch.events.slice(i, i + this.batchSize);
      for (let attempt = 1; ; attempt++) {
        // A write that hangs counts as a failing store: spill before the process has a chance to die with it.
        const hanging = setTimeout(() => this.markFailing(), this.spillIntervalMs);
        const r = await writeSplitting(this.sink, pending, (e) => e).finally(() => clearTimeout(hanging));
        this.s.delivered += r.stored.length;
        if (r.rejected.length) await this.deadLetter(r.rejected.map((x) => deadLetterOf(x.item, x.reason)));
        if (!r.unavailable) {
          this.markRecovered();
          if (r.stored.length) await this.flushDeadLetterRows();
          break;
        }
        this.s.failedWrites++;
        this.onError?.(r.unavailable.error, attempt);
        this.markFailing();
        if (this.closed) return false;
        await this.sleep(backoffMs(attempt, this.retryBaseMs, this.retryMaxMs), 'backoff');
        if (this.closed) return false;
        pending = r.unavailable.items;
      }
    }
    return true;
  }

  // ---- store failing: everything to the spool ---------------------------------------------------------------

  private markFailing(): void {
    if (this.failing || this.closed) return;
    this.failing = true;
    this.sealTimer = setInterval(() => this.sealOpenSegment(), this.spillIntervalMs);
    (this.sealTimer as { unref?: () => void }).unref?.();
    // The batch being retried, then what is in memory; new events are appended to the open segment (enqueue).
    try {
      if (this.inflight && !this.inflight.segment) {
        this.inflight.segment = this.spool.writeSegment(this.inflight.events);
        this.s.spilledEvents += this.inflight.events.length;
      }
      if (this.mem.length) this.spillMemory([]);
    } catch (err) {
      this.onError?.(new Error(`cannot spool while the store is failing: ${errText(err)}`), 0);
    }
  }

  private markRecovered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.stopSealing();
  }

  private stopSealing(): void {
    if (this.sealTimer) clearInterval(this.sealTimer);
    this.sealTimer = null;
    this.sealOpenSegment();
  }

  private sealOpenSegment(): void {
    try {
      const sealed = this.spool.seal();
      if (sealed) this.segments.push(sealed);
    } catch (err) {
      this.onError?.(new Error(`cannot seal the open spool segment: ${errText(err)}`), 0);
    }
  }

  /** Memory (and `extra`) to a sealed segment; memory is kept if the write fails. */
  private spillMemory(extra: readonly AnalyticsEvent[]): void {
    const events = extra.length ? this.mem.concat(extra) : this.mem;
    this.segments.push(...this.writeSegments(events));
    this.mem = [];
    this.s.spilledEvents += events.length;
  }

  /** Events to sealed segments of at most segmentEvents each; returns their paths, oldest first. */
  private writeSegments(events: readonly AnalyticsEvent[]): string[] {
    const paths: string[] = [];
    for (let i = 0; i < events.length; i += this.segmentEvents) paths.push(this.spool.writeSegment(events.slice(i, i + this.segmentEvents)));
    return paths;
  }

  // ---- dead letters and replay ------------------------------------------------------------------------------

  /**
   * Records dead letters: the spool's dead-letter file first (durable, complete), then the store's table where it
   * has one. Rows the store could not take now are tried again after its next successful write (up to a bound:
   * the file has them all).
   */
  private async deadLetter(letters: DeadLetter[]): Promise<void> {
    this.spool.appendDeadLetters(letters);
    this.s.deadLetters += letters.length;
    for (const l of letters) this.onDeadLetter?.(l);
    this.tableLetters.push(...letters.slice(0, Math.max(0, MAX_PENDING_LETTERS - this.tableLetters.length)));
    await this.flushDeadLetterRows();
  }

  private async flushDeadLetterRows(): Promise<void> {
    if (!this.tableLetters.length || !this.sink.writeDeadLetters) return;
    const rows = this.tableLetters;
    this.tableLetters = [];
    try {
      await this.sink.writeDeadLetters(rows);
    } catch (err) {
      this.tableLetters = rows.concat(this.tableLetters).slice(0, MAX_PENDING_LETTERS);
      this.onError?.(new Error(`dead-letter table write failed (${rows.length} rows kept in ${DEAD_LETTER_FILE}; retried after the next write): ${errText(err)}`), 0);
    }
  }

  /** A segment's events; lines that are not JSON or not valid events (older versions, torn writes) are dead-lettered. */
  private async readSegment(path: string): Promise<AnalyticsEvent[] | null> {
    const content = this.spool.read(path);
    if (!content) {
      this.onError?.(new Error(`cannot read spool segment ${path}; left for the next start`), 0);
      return null;
    }
    const letters = content.unparseable.map((line) => deadLetterOf(line, 'spool line is not JSON (torn write?)'));
    this.s.corruptLines += content.unparseable.length;
    const events: AnalyticsEvent[] = [];
    for (const item of content.items) {
      const parsed = analyticsEventSchema.safeParse(item);
      if (parsed.success) events.push(parsed.data);
      else {
        const issue = parsed.error.issues[0];
        letters.push(deadLetterOf(item, `not a valid event: ${issue?.path.join('.') || 'event'}: ${issue?.message}`));
      }
    }
    if (letters.length) await this.deadLetter(letters);
    return events;
  }

  private removeSegment(path: string): void {
    this.spool.remove(path);
    const i = this.segments.indexOf(path);
    if (i >= 0) this.segments.splice(i, 1);
  }

  // ---- waiting ----------------------------------------------------------------------------------------------

  /** Waits ms; enqueue() cuts an 'idle' wait short (and a 'linger' wait once a batch is full). */
  private sleep(ms: number, mode: 'idle' | 'linger' | 'backoff'): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wake === wake) {
          this.wake = null;
          this.waiting = null;
        }
        resolve();
      };
      const wake = done;
      const timer = setTimeout(done, ms);
      // An idle buffer must not keep a process alive; a buffer with undelivered events should.
      if (mode === 'idle') (timer as { unref?: () => void }).unref?.();
      this.wake = wake;
      this.waiting = mode;
    });
  }

  private isIdle(): boolean {
    return this.mem.length === 0 && this.segments.length === 0 && this.inflight === null && this.spool.openCount === 0;
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
