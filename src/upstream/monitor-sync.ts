// Backend health and engine load as seen by the BackendMonitor (one Durable Object that probes every backend
// on an alarm). Isolates pull this snapshot in the background (waitUntil), at most every `everyMs`, and fold it
// into their own BackendStates: probes are done once for the fleet, not once per isolate.
import type { BackendStates, EngineLoadReport } from './backend-state.ts';

export interface MonitorSnapshot {
  at: number;
  backends: Record<string, { breaker: 'closed' | 'open' | 'half-open'; openedUntilIn: number; engine: EngineLoadReport; engineAgeMs: number | null }>;
}

export function snapshotOf(states: BackendStates, now: number): MonitorSnapshot {
  const backends: MonitorSnapshot['backends'] = {};
  for (const [url, s] of states.entries()) {
    backends[url] = {
      breaker: s.breaker.state,
      openedUntilIn: Math.max(0, s.breaker.openedUntil - now),
      engine: s.engine,
      engineAgeMs: s.engineObservedAt ? now - s.engineObservedAt : null,
    };
  }
  return { at: now, backends };
}

/** Applies a monitor snapshot: an open circuit there opens it here; engine load is taken with its age. */
export function applySnapshot(states: BackendStates, snap: MonitorSnapshot, now: number, failureThreshold = 1): void {
  for (const [url, b] of Object.entries(snap.backends)) {
    const s = states.get(url);
    if (b.breaker === 'open' && b.openedUntilIn > 0 && s.breaker.state === 'closed') {
      s.breaker.onFailure(now, failureThreshold, b.openedUntilIn);
      s.breaker.openedUntil = now + b.openedUntilIn;
      s.breaker.state = 'open';
    }
    if (b.engineAgeMs !== null && (!s.engineObservedAt || now - b.engineAgeMs > s.engineObservedAt)) {
      s.reportEngineLoad(b.engine, now - b.engineAgeMs);
    }
  }
}
