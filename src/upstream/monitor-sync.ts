// Backend health (active probes) and engine load as seen by the BackendMonitor (one Durable Object that probes every backend
// on an alarm). Isolates pull this snapshot in the background (waitUntil), at most every `everyMs`, and fold it
// into their own BackendStates: probes are done once for the fleet, not once per isolate.
import { z } from 'zod';
import type { BackendStates, EngineLoadReport } from './backend-state.ts';

export interface MonitorSnapshot {
  at: number;
  /** `healthy`: the monitor's probes' verdict (active health); the monitor sends no inference, so no ejections. */
  backends: Record<string, { healthy: boolean; engine: EngineLoadReport; engineAgeMs: number | null; engineReport?: string | null }>;
}

const count = z.number().nonnegative();
const engineLoadSchema: z.ZodType<EngineLoadReport> = z.object({
  running: count.optional(),
  waiting: count.optional(),
  kvUsage: z.number().optional(),
  uncachedPromptTokens: count.optional(),
  slots: z.array(z.object({ id: z.number().int(), busy: z.boolean(), tokens: count.optional(), cachedTokens: count.optional() })).optional(),
});

/** What the BackendMonitor Durable Object answers; isolates parse it before folding it in (see syncFromMonitor). */
export const monitorSnapshotSchema: z.ZodType<MonitorSnapshot> = z.object({
  at: z.number(),
  backends: z.record(
    z.string(),
    z.object({ healthy: z.boolean(), engine: engineLoadSchema, engineAgeMs: z.number().nullable(), engineReport: z.string().nullable().optional() }),
  ),
});

export function snapshotOf(states: BackendStates, now: number): MonitorSnapshot {
  const backends: MonitorSnapshot['backends'] = {};
  for (const [url, s] of states.entries()) {
    backends[url] = { healthy: s.breaker.healthy, engine: s.engine, engineAgeMs: s.engineObservedAt ? now - s.engineObservedAt : null, engineReport: s.engineReport };
  }
  return { at: now, backends };
}

/**
 * Applies a monitor snapshot: the isolate takes the fleet's active-health verdict both ways (unhealthy and
 * healthy again); its own ejections (from the inference it sent) stay its own. Engine load is taken with its age.
 */
export function applySnapshot(states: BackendStates, snap: MonitorSnapshot, now: number): void {
  for (const [url, b] of Object.entries(snap.backends)) {
    const s = states.get(url);
    if (typeof b.healthy === 'boolean') s.breaker.setHealthy(b.healthy);
    if (b.engineReport !== undefined) s.engineReport = b.engineReport;
    if (b.engineAgeMs !== null && (!s.engineObservedAt || now - b.engineAgeMs > s.engineObservedAt)) {
      s.reportEngineLoad(b.engine, now - b.engineAgeMs);
    }
  }
}
