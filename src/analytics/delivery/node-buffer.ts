// Durable delivery of analytics events on Node: a bounded in-memory buffer drained by one writer loop in
// batches, with retries and exponential backoff while the sink is down, and an on-disk spool so nothing is
// dropped:
//   * when the memory buffer is full, its events go to a spool segment on disk (NDJSON, fsync'd, renamed into
//     place so a segment is either complete or absent);
//   * close() delivers what it can before its deadline and spools the rest;
//   * at start(), segments left by an earlier process are replayed (delivered, then deleted).
// Delivery is at-least-once; the sinks are idempotent by event_id, so the stored result is exactly-once.
// A process killed with SIGKILL loses what was only in memory (at most maxBuffered + batchSize events); call
// close() on SIGTERM/SIGINT. One process per spool directory.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { AnalyticsEvent } from '../event.ts';
import { errText, type AnalyticsSink } from '../sink.ts';

export interface NodeBufferOptions {
  sink: AnalyticsSink;
  spoolDir: string;
  /** Events held in memory before they spill to disk (default 10,000). */
  maxBuffered?: number;
  /** Events per sink write (default 500). */
  batchSize?: number;
  /** How long a partial batch may wait for more events (default 200 ms). */
  lingerMs?: number;
  /** Backoff after the first failure, doubling up to retryMaxMs, with +-20% jitter (defaults 100 ms / 5 s). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Told about every failed write (logging). */
  onError?(err: unknown, attempt: number): void;
}

export interface NodeBufferStats {
  buffered: number;
  spooledSegments: number;
  delivered: number;
  spilledEvents: number;
  failedWrites: number;
  corruptLines: number;
}

interface Batch {
  events: AnalyticsEvent[];
  /** Spool segment the events came from: deleted once every event in it was delivered. */
  segment?: string;
}

const SEGMENT_SUFFIX = '.ndjson';
const TMP_SUFFIX = '.ndjson.tmp';

export class NodeEventBuffer {
  private readonly sink: AnalyticsSink;
  private readonly dir: string;
  private readonly maxBuffered: number;
  private readonly batchSize: number;
  private readonly lingerMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly onError?: (err: unknown, attempt: number) => void;

  private mem: AnalyticsEvent[] = [];
  private segments: string[] = [];
  private inflight: Batch | null = null;
  private seq = 0;
  private running = false;
  private closed = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wake: (() => void) | null = null;
  private waiting: 'idle' | 'linger' | 'backoff' | null = null;
  /** Set by drain()/close(): deliver partial batches without lingering. */
  private flushNow = false;
  private idleWaiters: (() => void)[] = [];
  private s = { delivered: 0, spilledEvents: 0, failedWrites: 0, corruptLines: 0 };

  constructor(opts: NodeBufferOptions) {
    this.sink = opts.sink;
    this.dir = opts.spoolDir;
    this.maxBuffered = opts.maxBuffered ?? 10_000;
    this.batchSize = opts.batchSize ?? 500;
    this.lingerMs = opts.lingerMs ?? 200;
    this.retryBaseMs = opts.retryBaseMs ?? 100;
    this.retryMaxMs = opts.retryMaxMs ?? 5_000;
    this.onError = opts.onError;
    mkdirSync(this.dir, { recursive: true });
  }

  /** Picks up spool segments left by an earlier process and starts the writer loop. */
  start(): this {
    if (this.running) return this;
    this.running = true;
    const names = readdirSync(this.dir).filter((n) => n.endsWith(SEGMENT_SUFFIX) || n.endsWith(TMP_SUFFIX)).sort();
    this.segments = names.map((n) => join(this.dir, n));
    this.loopDone = this.loop();
    return this;
  }

  /** Accepts events; never blocks on the sink and never drops (spills to disk when memory is full). */
  enqueue(events: readonly AnalyticsEvent[]): void {
    if (events.length === 0) return;
    if (this.closed) {
      this.spill(events);
      return;
    }
    if (this.mem.length + events.length > this.maxBuffered) {
      this.spill(this.mem.concat(events));
      this.mem = [];
    } else for (const e of events) this.mem.push(e);
    if (this.waiting === 'idle' || (this.waiting === 'linger' && (this.mem.length >= this.batchSize || this.segments.length))) this.wake?.();
  }

  stats(): NodeBufferStats {
    return { buffered: this.mem.length + (this.inflight?.segment ? 0 : this.inflight?.events.length ?? 0), spooledSegments: this.segments.length, ...this.s };
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
    if (leftovers.length) this.spill(leftovers);
    // The loop exits at its next step; do not wait for a hung sink write.
    await Promise.race([this.loopDone, new Promise((r) => setTimeout(r, 50))]);
  }

  // ---- writer loop ------------------------------------------------------------------------------------------

  private async loop(): Promise<void> {
    while (!this.closed) {
      if (!this.segments.length && this.mem.length === 0) {
        this.notifyIdle();
        await this.sleep(60_000, 'idle');
        continue;
      }
      if (!this.segments.length && this.mem.length < this.batchSize && !this.flushNow) {
        await this.sleep(this.lingerMs, 'linger'); // let a partial batch fill up
        if (this.closed) return;
      }
      const batch = this.nextBatch();
      if (!batch) continue;
      this.inflight = batch;
      const ok = await this.deliver(batch);
      if (!ok) return; // closed while retrying: close() spooled the in-memory part
      if (batch.segment) this.removeSegment(batch.segment);
      this.inflight = null;
    }
  }

  /** Spool segments first (oldest events), then memory. Segments are read whole (each holds <= maxBuffered). */
  private nextBatch(): Batch | null {
    while (this.segments.length) {
      const segment = this.segments[0];
      const events = this.readSegment(segment);
      if (events.length) return { events, segment };
      this.removeSegment(segment);
    }
    if (this.mem.length === 0) return null;
    const events = this.mem.length <= this.batchSize ? this.mem : this.mem.slice(0, this.batchSize);
    this.mem = this.mem.length <= this.batchSize ? [] : this.mem.slice(this.batchSize);
    return { events };
  }

  /** Writes the batch in chunks of batchSize, retrying each chunk until it lands. False if closed meanwhile. */
  private async deliver(batch: Batch): Promise<boolean> {
    for (let i = 0; i < batch.events.length; i += this.batchSize) {
      const chunk = batch.events.slice(i, i + this.batchSize);
      for (let attempt = 1; ; attempt++) {
        try {
          await this.sink.write(chunk);
          this.s.delivered += chunk.length;
          break;
        } catch (err) {
          this.s.failedWrites++;
          this.onError?.(err, attempt);
          if (this.closed) return false;
          await this.sleep(this.backoff(attempt), 'backoff');
          if (this.closed) return false;
        }
      }
    }
    return true;
  }

  private backoff(attempt: number): number {
    const base = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.min(attempt - 1, 20));
    return base * (0.8 + Math.random() * 0.4);
  }

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
    return this.mem.length === 0 && this.segments.length === 0 && this.inflight === null;
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  // ---- spool ------------------------------------------------------------------------------------------------

  /** Writes events to a new segment: tmp file, fsync, rename, fsync the directory. Synchronous on purpose. */
  private spill(events: readonly AnalyticsEvent[]): void {
    if (events.length === 0) return;
    const name = `${String(Date.now()).padStart(15, '0')}-${String(this.seq++).padStart(8, '0')}`;
    const tmp = join(this.dir, name + TMP_SUFFIX);
    const final = join(this.dir, name + SEGMENT_SUFFIX);
    let text = '';
    for (const e of events) text += JSON.stringify(e) + '\n';
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, final);
    this.fsyncDir();
    this.segments.push(final);
    this.s.spilledEvents += events.length;
  }

  private readSegment(path: string): AnalyticsEvent[] {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      this.onError?.(new Error(`cannot read spool segment ${path}: ${errText(err)}`), 0);
      return [];
    }
    const events: AnalyticsEvent[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        events.push(JSON.parse(line));
      } catch {
        this.s.corruptLines++; // a torn last line of a .tmp segment from a crash mid-spill
      }
    }
    return events;
  }

  private removeSegment(path: string): void {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
    const i = this.segments.indexOf(path);
    if (i >= 0) this.segments.splice(i, 1);
  }

  private fsyncDir(): void {
    try {
      const fd = openSync(this.dir, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch {
      // some filesystems do not support fsync on directories; the rename is still atomic
    }
  }
}
