// Drift status change (src/drift/alerts.ts) -> analytics event, so drift history sits in the same table as the
// requests it was computed from. Wired as the drift recorder's onStatus in the runtimes (src/runtimes/):
//   createDriftRecorder({ store, onStatus: (rows) => emit?.(rows.map(driftStatusEventOf)) })
import type { DriftStatusRow } from '../drift/alerts.ts';
import { newEventId, type DriftStatusEvent } from './event.ts';

/** A fresh event id per change: the ledger reports each change once, and delivery retries re-send this object. */
export function driftStatusEventOf(row: DriftStatusRow): DriftStatusEvent {
  return {
    type: 'drift_status',
    event_id: newEventId(),
    ts: Math.round(row.at),
    tenant: row.tenantId,
    request_id: '',
    correlation_id: '',
    model: row.model,
    experiment: '',
    arm: row.arm,
    stream: false,
    drift: {
      feature: row.feature,
      window: row.window,
      window_start: row.windowStart,
      status: row.status,
      previous: row.previous ?? '',
      // PSI of an empty comparison can be NaN; the stores want finite numbers or NULL.
      psi: Number.isFinite(row.psi) ? row.psi : null,
      crit: row.crit !== null && Number.isFinite(row.crit) ? row.crit : null,
      n: row.n,
      m: row.m,
      baseline: String(row.baselineVersion),
    },
  };
}
