// Per-process (Node) / per-isolate (Workers) view of every backend this router talks to, keyed by backend URL
// so tenants that share a GPU share its in-flight count and its breaker.
import { CounterRate } from './fill-rate.ts';
import type { BackendLoad } from '../routing/policies/policy.ts';
import type { CacheReceipt } from '../types/cache-receipt.ts';
import { CircuitBreaker } from './breaker.ts';
import { busySlots, type EngineLoad } from '../../gpu-backends/adapters/index.ts';
import { Lease, Leases } from '../util/leases.ts';

/** One request attempt's hold on a backend (an in-flight slot), renewed as its response makes progress. */
export class AttemptLease extends Lease {
  /** Still waiting for the first byte (in, or queued for, prefill). */
  awaiting = true;
  /** Prompt characters it is expected to prefill (counted in BackendState.prefillChars until its first byte). */
  prefillChars = 0;
}

/** Engine-reported load, as the engine adapters parse it from /metrics or piggy-backed response headers. */
export type EngineLoadReport = EngineLoad;

/** What the engine's responses said they served from cache, summed since this process started (GET /metrics). */
export interface ReceiptCounts {
  /** Finished responses, and those of them that carried a receipt. */
  responses: number;
  withReceipt: number;
  /** Sums over the receipts. */
  promptTokens: number;
  cachedTokens: number;
}

export class BackendState {
  /** In-flight attempts as leases: an attempt whose request context died stops counting after its ttl. */
  private readonly attempts = new Leases<AttemptLease>();
  /** In-flight requests still waiting for their first byte, i.e. still in (or queued for) prefill. */
  awaitingFirstByte = 0;
  /** The prompt characters those requests are expected to prefill: the prefill work this router has queued here. */
  prefillChars = 0;
  readonly breaker = new CircuitBreaker();
  /** Last engine-reported load (from /metrics probes or piggy-backed response headers). */
  engine: EngineLoadReport = {};
  engineObservedAt = 0;
  /** Own in-flight count when the last engine report was taken. */
  inflightAtReport = 0;
  /** How fast the engine writes its KV cache, from its uncached-prompt-token counter (fill-rate.ts). */
  private readonly fill = new CounterRate();
  /** Busy and total slots of the last report, where the engine lists its slots. */
  private slotsBusy: number | undefined;
  private slotsTotal: number | undefined;
  /** What the probes found wrong with how this backend's engine is configured (engine-report.ts); null when nothing. */
  engineReport: string | null = null;
  readonly receipts: ReceiptCounts = { responses: 0, withReceipt: 0, promptTokens: 0, cachedTokens: 0 };

  get inflight(): number {
    return this.attempts.size;
  }

  /**
   * Takes an in-flight slot for an attempt; `onExpire` ends the attempt if it stops renewing within ttlMs.
   * `prefillChars`: the prompt characters it is expected to prefill, counted until its first byte (or its end).
   */
  begin(now: number, ttlMs: number, onExpire?: () => void, prefillChars = 0): AttemptLease {
    this.awaitingFirstByte++;
    const lease = new AttemptLease(now, ttlMs, onExpire);
    lease.prefillChars = prefillChars;
    this.prefillChars += prefillChars;
    return this.attempts.add(lease);
  }

  /** The attempt's first byte arrived: it leaves prefill; its lease now runs for `ttlMs` per renewal. */
  firstByte(lease: AttemptLease, now: number, ttlMs: number): void {
    this.leavePrefill(lease);
    lease.renew(now, ttlMs);
  }

  /** Gives the slot back (once; a no-op for a lease that already expired). */
  end(lease: AttemptLease): void {
    if (this.attempts.release(lease)) this.leavePrefill(lease);
  }

  /** Takes back the slots of attempts that stopped renewing (checked at most once a second). */
  expire(now: number): void {
    this.attempts.expire(now, (l) => this.leavePrefill(l));
  }

  private leavePrefill(lease: AttemptLease): void {
    if (lease.awaiting) {
      lease.awaiting = false;
      this.awaitingFirstByte--;
      this.prefillChars -= lease.prefillChars;
    }
  }

  load(): BackendLoad {
    const e = this.engine;
    return this.engineObservedAt
      ? {
          inflight: this.inflight, awaitingFirstByte: this.awaitingFirstByte, prefillChars: this.prefillChars, running: e.running, waiting: e.waiting, kvUsage: e.kvUsage,
          observedAt: this.engineObservedAt, inflightAtReport: this.inflightAtReport, fillRate: this.fill.perSecond(), slotsBusy: this.slotsBusy, slotsTotal: this.slotsTotal,
        }
      : { inflight: this.inflight, awaitingFirstByte: this.awaitingFirstByte, prefillChars: this.prefillChars };
  }

  reportEngineLoad(report: EngineLoadReport, now: number): void {
    this.engine = report;
    this.engineObservedAt = now;
    this.slotsTotal = report.slots?.length;
    this.slotsBusy = report.slots && busySlots(report.slots);
    if (report.uncachedPromptTokens !== undefined) this.fill.observe(report.uncachedPromptTokens, now);
    this.inflightAtReport = this.inflight;
  }

  /** Counts a finished response and its receipt (null: the response stated no cached tokens). */
  countReceipt(receipt: CacheReceipt | null): void {
    const r = this.receipts;
    r.responses++;
    if (!receipt) return;
    r.withReceipt++;
    r.promptTokens += receipt.promptTokens;
    r.cachedTokens += receipt.cachedTokens;
  }
}

export class BackendStates {
  private map = new Map<string, BackendState>();

  get(url: string): BackendState {
    let s = this.map.get(url);
    if (!s) {
      s = new BackendState();
      this.map.set(url, s);
    }
    return s;
  }

  entries(): IterableIterator<[string, BackendState]> {
    return this.map.entries();
  }

  private expiredAt = -Infinity;

  /** Takes back the in-flight slots of attempts whose owners stopped renewing them (at most once a second). */
  expire(now: number): void {
    if (now - this.expiredAt < 1_000) return;
    this.expiredAt = now;
    for (const s of this.map.values()) s.expire(now);
  }
}
