// The drift Durable Object's state and methods without the `cloudflare:workers` base class
// (drift-durable-object.ts wraps it), so the same code is unit-tested on Node with an in-memory storage.
import type { DriftDelta } from '../drift/aggregate.ts';
import type { BaselineMeta } from '../drift/baseline.ts';
import { TenantLedger, type KeyValueRepository } from '../drift/ledger.ts';
import type { BaselineListing, BaselineRequest, DriftReport, DriftReportOptions, IngestResult } from '../drift/store.ts';
import { baselineRequestSchema, driftDeltaSchema, driftReportOptionsSchema } from '../drift/wire.ts';
import { parseArgument } from '../util/parse-stored.ts';
import type { DriftRpc } from './durable-drift-store.ts';

/** The part of `DurableObjectStorage` used here (KV API; works on SQLite-backed and KV-backed objects). */
export interface DurableObjectStorageLike {
  get<T = unknown>(key: string): Promise<T | undefined>;
  put<T>(key: string, value: T): Promise<void>;
  delete(keys: string[]): Promise<number>;
}

/** Storage's batch delete takes at most 128 keys. */
const DELETE_BATCH = 128;

class StorageRepository implements KeyValueRepository {
  constructor(private readonly storage: DurableObjectStorageLike) {}
  get(key: string): Promise<unknown> {
    return this.storage.get(key);
  }
  put<T>(key: string, value: T): Promise<void> {
    return this.storage.put(key, value);
  }
  async delete(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) await this.storage.delete(keys.slice(i, i + DELETE_BATCH));
  }
}

/**
 * One tenant's drift ledger behind the RPC methods. Arguments come from another Worker (maybe of another
 * version): each is parsed with its schema first, and one of another shape is a RangeError that names the field.
 */
export class DriftObjectCore implements DriftRpc {
  private ledger: TenantLedger | undefined;
  private readonly repo: StorageRepository;

  constructor(
    storage: DurableObjectStorageLike,
    private readonly now: () => number = Date.now,
  ) {
    this.repo = new StorageRepository(storage);
  }

  private ledgerFor(tenantId: unknown): TenantLedger {
    if (typeof tenantId !== 'string' || !tenantId) throw new RangeError('missing tenant id');
    if (!this.ledger || this.ledger.tenantId !== tenantId) this.ledger = new TenantLedger(tenantId, this.repo, this.now);
    return this.ledger;
  }

  async ingest(tenantId: string, delta: DriftDelta): Promise<IngestResult> {
    return this.ledgerFor(tenantId).ingest(parseArgument('ingest request', driftDeltaSchema, delta));
  }
  async report(tenantId: string, opts: DriftReportOptions): Promise<DriftReport> {
    return this.ledgerFor(tenantId).report(parseArgument('report request', driftReportOptionsSchema, opts));
  }
  async putBaseline(tenantId: string, req: BaselineRequest): Promise<BaselineMeta> {
    return this.ledgerFor(tenantId).putBaseline(parseArgument('baseline request', baselineRequestSchema, req));
  }
  async baselines(tenantId: string): Promise<BaselineListing> {
    return this.ledgerFor(tenantId).baselines();
  }
}
