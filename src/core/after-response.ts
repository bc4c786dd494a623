// What happens after the response, in waitUntil: the request event goes to the analytics path, the request's
// features go to the drift sketches. One function for both runtimes; each supplies its emit and its recorder.
import type { AnalyticsEvent } from '../analytics/event.ts';
import type { DriftRecorder } from '../drift/recorder.ts';
import { driftObservationOf } from '../drift/from-record.ts';
import type { TenantDirectory } from '../tenants/directory.ts';
import type { RequestRecord } from './inference.ts';
import { requestEventOf } from './request-event.ts';

export interface AfterResponseDeps {
  directory: TenantDirectory;
  emit?: (events: AnalyticsEvent[]) => void | Promise<void>;
  drift?: DriftRecorder;
  /** Monotonic clock of the records (performance.now). */
  now: () => number;
}

export function afterResponse(deps: AfterResponseDeps): (rec: RequestRecord) => Promise<void> {
  return async (rec) => {
    const work: Promise<unknown>[] = [];
    if (deps.emit) work.push(Promise.resolve(deps.emit([requestEventOf(rec, Date.now(), deps.now())])));
    if (deps.drift && !rec.error) {
      // The tenant's runtime config is cached per isolate; this is a map lookup in the common case.
      const tenant = await deps.directory.runtime(rec.tenantId);
      if (tenant?.config.drift.enabled) {
        const flushed = deps.drift.observe(driftObservationOf(rec, tenant.config.drift, rec.arm));
        if (flushed) work.push(flushed);
      }
    }
    await Promise.allSettled(work);
  };
}
