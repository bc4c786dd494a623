// Per-process (Node) / per-isolate (Workers) view of every backend this router talks to, keyed by backend URL
// so tenants that share a GPU share its in-flight count and its breaker.
import { CounterRate } from '../routing/policies/fill-rate.ts';
import type { BackendLoad } from '../routing/policy.ts';
import { CircuitBreaker } from './breaker.ts';
import type { EngineLoad } from '../../gpu-backends/adapters/types.ts';

/** Engine-reported load, as the engine adapters parse it from /metrics or piggy-backed response headers. */
export type EngineLoadReport = EngineLoad;

export class BackendState {
  inflight = 0;
  /** In-flight requests still waiting for their first byte, i.e. still in (or queued for) prefill. */
  awaitingFirstByte = 0;
  readonly breaker = new CircuitBreaker();
  /** Last engine-reported load (from /metrics probes or piggy-backed response headers). */
  engine: EngineLoadReport = {};
  engineObservedAt = 0;
  /** Own in-flight count when the last engine report was taken. */
  inflightAtReport = 0;
  /** How fast the engine writes its KV cache, from its uncached-prompt-token counter (fill-rate.ts). */
  private readonly fill = new CounterRate();

  load(): BackendLoad {
    const e = this.engine;
    return this.engineObservedAt
      ? { inflight: this.inflight, awaitingFirstByte: this.awaitingFirstByte, running: e.running, waiting: e.waiting, kvUsage: e.kvUsage, observedAt: this.engineObservedAt, inflightAtReport: this.inflightAtReport, fillRate: this.fill.perSecond() }
      : { inflight: this.inflight, awaitingFirstByte: this.awaitingFirstByte };
  }

  reportEngineLoad(report: EngineLoadReport, now: number): void {
    this.engine = report;
    this.engineObservedAt = now;
    if (report.uncachedPromptTokens !== undefined) this.fill.observe(report.uncachedPromptTokens, now);
    this.inflightAtReport = this.inflight;
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
}
