// Active health and load probes: every configured backend's engine health path (through its engine adapter), its
// metrics endpoint where the adapter knows how to read load, and its slots where the engine lists them. Results
// feed the same breaker and load view that passive observations update. Probes carry the backend's apiKey (an
// engine started with a key refuses its metrics without it), and report an engine that is not what its config
// says (engine-report.ts).
import type { TenantStore } from '../tenants/store.ts';
import type { BackendStates } from './backend-state.ts';
import { DEFAULT_ENGINE } from '../config/schema.ts';
import { busySlots, adapterFor as engineAdapterFor, type EngineAdapter, type EngineKind, type EngineLoad, type SlotState } from '../../gpu-backends/adapters/index.ts';
import { engineUnset, metricsProblem, reportLine, type EngineProblem } from './engine-report.ts';
import { readAllText, type UpstreamClient } from './types.ts';

export type AdapterLookup = (engine: EngineKind) => EngineAdapter;

interface Target {
  url: string;
  adapter: EngineAdapter;
  /** The config left the engine kind out (the default was assumed). */
  engineUnset: boolean;
  /** `Bearer <apiKey>` of a backend config at this URL, if any has one. */
  authorization: string | null;
  failureThreshold: number;
  intervalMs: number;
}

export interface ProberOptions {
  adapterFor?: AdapterLookup;
  tickMs?: number;
  /** Where warnings go (default console.warn); each backend's problem of each kind is told once. */
  warn?: (message: string) => void;
}

const DEFAULT_SCRAPE_MS = 2_000;
/** A slots endpoint that is off (llama-server --no-slots answers 501) is asked again after this long. */
const SLOTS_RETRY_MS = 300_000;

export class HealthProber {
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly adapterFor: AdapterLookup;
  private readonly tickMs: number;
  private readonly warn: (message: string) => void;
  /** Targets whose probe is still running: a slow engine is not probed twice at once, nor holds up the others. */
  private readonly probing = new Set<string>();
  private readonly warned = new Set<string>();
  private readonly slotsOffUntil = new Map<string, number>();

  constructor(
    private store: TenantStore,
    private states: BackendStates,
    private client: UpstreamClient,
    private now: () => number,
    opts: ProberOptions = {},
  ) {
    this.adapterFor = opts.adapterFor ?? engineAdapterFor;
    this.tickMs = opts.tickMs ?? 1_000;
    this.warn = opts.warn ?? ((m) => console.warn(m));
  }

  /** Every distinct backend URL across tenants, with the strictest probe settings that mention it. */
  async targets(): Promise<Target[]> {
    const out = new Map<string, Target>();
    for (const id of await this.store.listTenants()) {
      // A tenant whose stored record cannot be read (logged by the store) is skipped: the others are still probed.
      const rec = await this.store.getTenant(id).catch(() => null);
      if (!rec) continue;
      const h = rec.config.health;
      if (h.probeIntervalMs === 0) continue;
      for (const pool of Object.values(rec.config.pools)) {
        for (const b of pool.backends) {
          const url = b.url.replace(/\/$/, '');
          const prev = out.get(url);
          const authorization = b.apiKey ? `Bearer ${b.apiKey}` : (prev?.authorization ?? null);
          if (!prev || h.probeIntervalMs < prev.intervalMs) {
            const engine = b.engine ?? DEFAULT_ENGINE;
            out.set(url, { url, adapter: this.adapterFor(engine), engineUnset: b.engine === undefined, authorization, failureThreshold: h.failureThreshold, intervalMs: h.probeIntervalMs });
          } else if (!prev.authorization) prev.authorization = authorization;
        }
      }
    }
    return [...out.values()];
  }

  private lastProbe = new Map<string, number>();

  async probe(t: Target): Promise<void> {
    const state = this.states.get(t.url);
    const headers: Record<string, string> = t.authorization ? { authorization: t.authorization } : {};
    const get = async (path: string, timeoutMs: number) => {
      const res = await this.client.send({ baseUrl: t.url, path, method: 'GET', headers, signal: AbortSignal.timeout(timeoutMs), connectTimeoutMs: 1_000 });
      const text = await readAllText(res.body, 4 * 1024 * 1024);
      return { status: res.status, text };
    };
    // Probes decide active health only: a good /health never ends an ejection that inference caused.
    try {
      const health = await get(t.adapter.healthPath, DEFAULT_SCRAPE_MS);
      if (health.status >= 500) throw new Error(`health ${health.status}`);
      state.breaker.onProbe(true, t.failureThreshold);
    } catch {
      state.breaker.onProbe(false, t.failureThreshold);
      return;
    }
    const problems: EngineProblem[] = t.engineUnset ? [engineUnset()] : [];
    const scrapeMs = t.adapter.scrapeTimeoutMs ?? DEFAULT_SCRAPE_MS;
    let load: EngineLoad | null = null;
    let scraped = true;
    if (t.adapter.metricsPath) {
      try {
        const m = await get(t.adapter.metricsPath, scrapeMs);
        if (m.status === 200) load = t.adapter.parseLoad(m.text);
        const problem = metricsProblem(t.adapter, m.status, m.text);
        if (problem) problems.push(problem);
      } catch {
        // Load is advisory; a failed scrape leaves the last report (and the last engine report) to age out.
        scraped = false;
      }
    }
    const slots = t.adapter.slotsPath && t.adapter.parseSlots ? await this.slots(t, (path) => get(path, scrapeMs)) : null;
    if (slots) {
      load ??= {};
      load.slots = slots;
      // Without metrics (llama-server without --metrics), its busy slots are the requests it is running.
      load.running ??= busySlots(slots);
    }
    if (load) state.reportEngineLoad(load, this.now());
    if (scraped) state.engineReport = reportLine(problems);
    for (const p of problems) {
      const key = `${t.url} ${p.kind}`;
      if (this.warned.has(key)) continue;
      this.warned.add(key);
      this.warn(`kvroute: backend ${t.url}: ${p.message}`);
    }
  }

  /** The engine's slots, unless its slots endpoint is off (then asked again only after a while). */
  private async slots(t: Target, get: (path: string) => Promise<{ status: number; text: string }>): Promise<SlotState[] | null> {
    if ((this.slotsOffUntil.get(t.url) ?? -Infinity) > this.now()) return null;
    try {
      const r = await get(t.adapter.slotsPath!);
      if (r.status === 200) return t.adapter.parseSlots!(JSON.parse(r.text));
      this.slotsOffUntil.set(t.url, this.now() + SLOTS_RETRY_MS);
    } catch {
      // A slow or broken answer: asked again next round.
    }
    return null;
  }

  async tick(): Promise<void> {
    const now = this.now();
    const due = (await this.targets()).filter((t) => !this.probing.has(t.url) && now - (this.lastProbe.get(t.url) ?? -Infinity) >= t.intervalMs);
    for (const t of due) {
      this.lastProbe.set(t.url, now);
      this.probing.add(t.url);
    }
    await Promise.allSettled(due.map((t) => this.probe(t).finally(() => this.probing.delete(t.url))));
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
