// Active health and load probes: every configured backend's engine health path (through its engine adapter),
// and its metrics endpoint where the adapter knows how to read load. Results feed the same breaker and load
// view that passive observations update.
import type { BackendConfig } from '../config/schema.ts';
import type { TenantStore } from '../tenants/store.ts';
import type { BackendStates } from './backend-state.ts';
import { adapterFor as engineAdapterFor, type EngineAdapter } from '../../gpu-backends/adapters/index.ts';
import { readAllText, type UpstreamClient } from './types.ts';

export type AdapterLookup = (engine: BackendConfig['engine']) => EngineAdapter;

interface Target {
  url: string;
  adapter: EngineAdapter;
  failureThreshold: number;
  intervalMs: number;
}

export class HealthProber {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running = false;

  constructor(
    private store: TenantStore,
    private states: BackendStates,
    private client: UpstreamClient,
    private now: () => number,
    private adapterFor: AdapterLookup = engineAdapterFor,
    private tickMs = 1_000,
  ) {}

  /** Every distinct backend URL across tenants, with the strictest probe settings that mention it. */
  async targets(): Promise<Target[]> {
    const out = new Map<string, Target>();
    for (const id of await this.store.listTenants()) {
      const rec = await this.store.getTenant(id);
      if (!rec) continue;
      const h = rec.config.health;
      if (h.probeIntervalMs === 0) continue;
      for (const pool of Object.values(rec.config.pools)) {
        for (const b of pool.backends) {
          const url = b.url.replace(/\/$/, '');
          const prev = out.get(url);
          if (!prev || h.probeIntervalMs < prev.intervalMs) {
            out.set(url, { url, adapter: this.adapterFor(b.engine), failureThreshold: h.failureThreshold, intervalMs: h.probeIntervalMs });
          }
        }
      }
    }
    return [...out.values()];
  }

  private lastProbe = new Map<string, number>();

  async probe(t: Target): Promise<void> {
    const state = this.states.get(t.url);
    const get = async (path: string) => {
      const res = await this.client.send({ baseUrl: t.url, path, method: 'GET', headers: {}, signal: AbortSignal.timeout(2_000), connectTimeoutMs: 1_000 });
      const text = await readAllText(res.body, 4 * 1024 * 1024);
      return { status: res.status, text };
    };
    // Probes decide active health only: a good /health never ends an ejection that inference caused.
    try {
      const health = await get(t.adapter.healthPath);
      if (health.status >= 500) throw new Error(`health ${health.status}`);
      state.breaker.onProbe(true, t.failureThreshold);
    } catch {
      state.breaker.onProbe(false, t.failureThreshold);
      return;
    }
    if (t.adapter.metricsPath) {
      try {
        const m = await get(t.adapter.metricsPath);
        if (m.status === 200) state.reportEngineLoad(t.adapter.parseLoad(m.text), this.now());
      } catch {
        // Load is advisory; a failed scrape leaves the last report to age out.
      }
    }
  }

  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const now = this.now();
      const due = (await this.targets()).filter((t) => now - (this.lastProbe.get(t.url) ?? -Infinity) >= t.intervalMs);
      for (const t of due) this.lastProbe.set(t.url, now);
      await Promise.allSettled(due.map((t) => this.probe(t)));
    } finally {
      this.running = false;
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
