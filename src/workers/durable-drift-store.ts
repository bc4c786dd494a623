// The drift store on Workers: one DriftDurableObject per tenant (`idFromName(tenantId)`) holds that tenant's
// windows, baselines and alert state, and isolates call its methods through Workers RPC. Answers are parsed before
// they are trusted: during a deploy the object may run another version of kvroute.
import type { DriftDelta } from '../drift/aggregate.ts';
import type { BaselineMeta } from '../drift/baseline.ts';
import type { BaselineListing, BaselineRequest, DriftReport, DriftReportOptions, DriftStore, IngestResult } from '../drift/store.ts';
import { baselineListingSchema, baselineMetaSchema, driftReportSchema, ingestResultSchema } from '../drift/wire.ts';
import { parseStored } from '../util/parse-stored.ts';

/**
 * The drift Durable Object's RPC methods (drift-durable-object.ts; logic in drift-object-core.ts). A request the
 * object finds invalid (an unknown window, an argument of another shape) rejects with a RangeError, which RPC
 * carries to the caller as a RangeError.
 */
export interface DriftRpc {
  ingest(tenantId: string, delta: DriftDelta): Promise<IngestResult>;
  report(tenantId: string, opts: DriftReportOptions): Promise<DriftReport>;
  putBaseline(tenantId: string, req: BaselineRequest): Promise<BaselineMeta>;
  baselines(tenantId: string): Promise<BaselineListing>;
}

const ANOTHER_VERSION = 'The drift Durable Object may run another version of kvroute; deploy one version.';

/** DriftStore backed by one drift Durable Object per tenant (`objectOf(tenantId)` is its stub). */
export class DurableDriftStore implements DriftStore {
  constructor(private readonly objectOf: (tenantId: string) => DriftRpc) {}

  async ingest(tenantId: string, delta: DriftDelta): Promise<IngestResult> {
    return parseStored(ingestResultSchema, await this.objectOf(tenantId).ingest(tenantId, delta), answerTo('ingest', tenantId), ANOTHER_VERSION);
  }
  async report(tenantId: string, opts: DriftReportOptions = {}): Promise<DriftReport> {
    return parseStored(driftReportSchema, await this.objectOf(tenantId).report(tenantId, opts), answerTo('report', tenantId), ANOTHER_VERSION);
  }
  async putBaseline(tenantId: string, req: BaselineRequest): Promise<BaselineMeta> {
    return parseStored(baselineMetaSchema, await this.objectOf(tenantId).putBaseline(tenantId, req), answerTo('putBaseline', tenantId), ANOTHER_VERSION);
  }
  async getBaselines(tenantId: string): Promise<BaselineListing> {
    return parseStored(baselineListingSchema, await this.objectOf(tenantId).baselines(tenantId), answerTo('baselines', tenantId), ANOTHER_VERSION);
  }
}

const answerTo = (method: string, tenantId: string) => `The drift store's answer to ${method} for tenant '${tenantId}'`;
