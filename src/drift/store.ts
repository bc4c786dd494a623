// The drift store: where isolates' deltas are merged and reports are computed. One interface, two
// implementations: MemoryDriftStore (Node, tests) here, and the Durable Object client in durable-object.ts.
import type { DriftDelta } from './aggregate.ts';
import type { BaselineMeta } from './baseline.ts';
import { TenantLedger, type KeyValueRepository } from './ledger.ts';
import type { BaselineListing, BaselineRequest, DriftReport, DriftReportOptions, IngestResult } from './wire.ts';

export type { BaselineListing, BaselineRequest, DriftReport, DriftReportOptions, IngestResult } from './wire.ts';

export interface DriftStore {
  /** Merges an isolate's delta; returns the alerts (transitions into major) and status changes it caused. */
  ingest(tenantId: string, delta: DriftDelta): Promise<IngestResult>;
  /** Each (model, arm) group's current window against the active baseline. */
  report(tenantId: string, opts?: DriftReportOptions): Promise<DriftReport>;
  /** Creates and activates a new baseline version. */
  putBaseline(tenantId: string, req: BaselineRequest): Promise<BaselineMeta>;
  /** The active baseline and every version. */
  getBaselines(tenantId: string): Promise<BaselineListing>;
}

/** A Map as a KeyValueRepository. Values are cloned on the way in and out, as real storage would. */
export class MapRepository implements KeyValueRepository {
  readonly data = new Map<string, unknown>();
  async get(key: string): Promise<unknown> {
    const v = this.data.get(key);
    return v === undefined ? undefined : structuredClone(v);
  }
  async put<T>(key: string, value: T): Promise<void> {
    this.data.set(key, structuredClone(value));
  }
  async delete(keys: string[]): Promise<void> {
    for (const k of keys) this.data.delete(k);
  }
}

/**
 * In-process store for Node: one ledger per tenant, calls for a tenant serialised (as a Durable Object would),
 * different tenants independent.
 */
export class MemoryDriftStore implements DriftStore {
  private readonly ledgers = new Map<string, { ledger: TenantLedger; queue: Promise<unknown> }>();

  constructor(private readonly now: () => number = Date.now) {}

  private run<T>(tenantId: string, op: (ledger: TenantLedger) => Promise<T>): Promise<T> {
    let entry = this.ledgers.get(tenantId);
    if (!entry) this.ledgers.set(tenantId, (entry = { ledger: new TenantLedger(tenantId, new MapRepository(), this.now), queue: Promise.resolve() }));
    const ledger = entry.ledger;
    const result = entry.queue.then(() => op(ledger));
    entry.queue = result.catch(() => undefined);
    return result;
  }

  ingest(tenantId: string, delta: DriftDelta): Promise<IngestResult> {
    return this.run(tenantId, (l) => l.ingest(delta));
  }
  report(tenantId: string, opts: DriftReportOptions = {}): Promise<DriftReport> {
    return this.run(tenantId, (l) => l.report(opts));
  }
  putBaseline(tenantId: string, req: BaselineRequest): Promise<BaselineMeta> {
    return this.run(tenantId, (l) => l.putBaseline(req));
  }
  getBaselines(tenantId: string): Promise<BaselineListing> {
    return this.run(tenantId, (l) => l.baselines());
  }
}
