// The soak's fault schedule: a cycle that repeats, each fault on the next backend in turn, plus ClickHouse
// outages. Each fault is a window (what, where, from, to) that the chart shades and the report lists, and two
// steps (`Step` of the fault harness): one that starts it and one that ends it.
import type { Backends, Step } from '../../test/e2e/faults/harness.ts';

export interface FaultWindow {
  kind: string;
  /** Backend index, or -1 for ClickHouse. */
  target: number;
  fromMs: number;
  toMs: number;
}

export interface FaultPlan {
  windows: FaultWindow[];
  steps: Step[];
}

/** One cycle's faults: when each starts (ms into the cycle) and how long it lasts. */
const CYCLE_MS = 150_000;
const CYCLE: { kind: string; atMs: number; forMs: number }[] = [
  { kind: '5xx burst', atMs: 10_000, forMs: 10_000 },
  { kind: 'stall', atMs: 35_000, forMs: 15_000 },
  { kind: 'dies mid-stream', atMs: 60_000, forMs: 15_000 },
  { kind: 'killed', atMs: 85_000, forMs: 15_000 },
  { kind: 'refuses connections', atMs: 115_000, forMs: 15_000 },
];
const CLICKHOUSE_OUTAGE_MS = 30_000;

export interface FaultTargets {
  backends: Backends;
  /** Simulated ms per wall ms of the backends (`--time-scale`): fault durations are in simulated time. */
  timeScale: number;
  stopClickHouse(): Promise<void>;
  startClickHouse(): Promise<void>;
}

/** The faults of a run of `durationMs`; none starts later than a fault's length before the end. */
export function faultPlan(durationMs: number, t: FaultTargets): FaultPlan {
  const n = t.backends.ports.length;
  const windows: FaultWindow[] = [];
  const steps: Step[] = [];
  const add = (w: FaultWindow, start: () => Promise<void>, end: () => Promise<void>) => {
    if (w.toMs > durationMs) return;
    windows.push(w);
    steps.push({ atMs: w.fromMs, run: start }, { atMs: w.toMs, run: end });
  };
  for (let cycle = 0; cycle * CYCLE_MS < durationMs; cycle++) {
    CYCLE.forEach((f, k) => {
      const b = (cycle + k) % n; // every fault meets every backend in turn
      const w = { kind: f.kind, target: b, fromMs: cycle * CYCLE_MS + f.atMs, toMs: cycle * CYCLE_MS + f.atMs + f.forMs };
      const set = (faults: object) => () => t.backends.setFaults(b, faults);
      const clear = set({});
      const longMs = 10 * 60_000 * t.timeScale; // longer than any window: the end step lifts it
      switch (f.kind) {
        case '5xx burst':
          return add(w, set({ error: { rate: 1, status: cycle % 2 ? 503 : 500 } }), clear);
        case 'stall': // before the first token on even cycles, mid-stream on odd ones
          return add(w, set(cycle % 2 ? { stallMidStream: { rate: 1, ms: longMs, afterTokens: 3 } } : { stallBeforeFirstToken: { rate: 1, ms: longMs } }), clear);
        case 'dies mid-stream':
          return add(w, set({ dieMidStream: { rate: 0.5, afterTokens: 4 } }), clear);
        case 'killed':
          return add(w, () => t.backends.kill(b), () => t.backends.launch(b));
        case 'refuses connections': // the backend listens again by itself after `ms` (its admin API is closed meanwhile)
          return add(w, set({ refuseConnections: { ms: f.forMs * t.timeScale } }), async () => {});
      }
    });
  }
  // ClickHouse stops for 30 s at 30% and 70% of the run.
  for (const at of [0.3, 0.7]) {
    const fromMs = Math.round((durationMs * at) / 1000) * 1000;
    add({ kind: 'clickhouse down', target: -1, fromMs, toMs: fromMs + CLICKHOUSE_OUTAGE_MS }, t.stopClickHouse, t.startClickHouse);
  }
  steps.sort((a, b) => a.atMs - b.atMs);
  windows.sort((a, b) => a.fromMs - b.fromMs);
  return { windows, steps };
}
