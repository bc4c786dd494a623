// The drift Durable Object: one per tenant, bound as DRIFT (see docs/drift.md and docs/operations.md), called
// through Workers RPC by DurableDriftStore (durable-drift-store.ts). Its logic is DriftObjectCore.
import { DurableObject } from 'cloudflare:workers';
import type { DriftDelta } from '../drift/aggregate.ts';
import type { BaselineMeta } from '../drift/baseline.ts';
import type { BaselineListing, BaselineRequest, DriftReport, DriftReportOptions, IngestResult } from '../drift/store.ts';
import { DriftObjectCore } from './drift-object-core.ts';
import type { DriftRpc } from './durable-drift-store.ts';

/** Export this class from the Worker entry (routes/worker.ts). */
export class DriftDurableObject extends DurableObject implements DriftRpc {
  private core = new DriftObjectCore(this.ctx.storage);

  ingest(tenantId: string, delta: DriftDelta): Promise<IngestResult> {
    return this.core.ingest(tenantId, delta);
  }
  report(tenantId: string, opts: DriftReportOptions): Promise<DriftReport> {
    return this.core.report(tenantId, opts);
  }
  putBaseline(tenantId: string, req: BaselineRequest): Promise<BaselineMeta> {
    return this.core.putBaseline(tenantId, req);
  }
  baselines(tenantId: string): Promise<BaselineListing> {
    return this.core.baselines(tenantId);
  }
}
