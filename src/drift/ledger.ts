// One tenant's drift state: windows per (model, arm), baselines, alert state. It is the logic behind both store
// implementations (in memory on Node, a Durable Object per tenant on Workers); they differ only in the key-value
// repository underneath. Every method runs to completion for one tenant at a time (the Durable Object's input
// gate, or the single Node thread with one ledger per tenant serialised by a promise chain in the store).
import { z } from 'zod';
import { defaultDriftConfig, driftConfigSchema, finestWindow, type DriftConfig } from '../config/drift.ts';
import type { DeltaEntry, DriftDelta } from './aggregate.ts';
import { applyEvaluation, emptyAlertState, type AlertState } from './alerts.ts';
import { groupKey, type BaselineMeta, type StoredBaseline } from './baseline.ts';
import { evaluateSketches, worstStatus, type EvaluationSettings } from './report.ts';
import { FeatureSketches, type FeatureSketchesJSON } from './sketches.ts';
import { boundedCache } from '../util/lru.ts';
import { parseStored } from '../util/parse-stored.ts';
import { expired, tileRange, windowId, windowStart, type WindowRef, type WindowSpec } from './window.ts';
import {
  alertStateSchema,
  baselineMetaSchema,
  featureSketchesSchema,
  storedBaselineSchema,
  windowIndexSchema,
  type BaselineListing,
  type BaselineRequest,
  type DriftReport,
  type DriftReportOptions,
  type GroupReport,
  type IngestResult,
} from './wire.ts';

const DAY_MS = 86_400_000;
const WINDOW_CACHE_LIMIT = 64;
const BASELINE_CACHE_LIMIT = 64;
const STORED_HINT = 'It was written by another version of kvroute or by hand; delete the key or restore it from a backup.';
const baselineListSchema = z.array(baselineMetaSchema);

/** Where a ledger keeps its values (Durable Object storage, or a Map). Values are JSON-compatible. */
export interface KeyValueRepository {
  /** The stored value as it was put, not yet trusted: the ledger parses it with its schema (wire.ts). */
  get(key: string): Promise<unknown>;
  put<T>(key: string, value: T): Promise<void>;
  delete(keys: string[]): Promise<void>;
}

interface Loaded {
  config: DriftConfig;
  index: Map<string, WindowRef>;
  /** The index changed since it was last written. */
  indexDirty: boolean;
  baselines: BaselineMeta[];
  alerts: AlertState;
}

export class TenantLedger {
  private state: Loaded | undefined;
  /** Window sketches read or written lately (the windows an ingest or a report touches again). */
  private readonly windows = boundedCache<string, FeatureSketches>({ max: WINDOW_CACHE_LIMIT });
  /** Trailing baselines by (version, group, window start, days); a new window start is a new key, so bounded. */
  private readonly baselineCache = boundedCache<string, { sketches: FeatureSketches; from: number; to: number }>({ max: BASELINE_CACHE_LIMIT });
  private frozen: { version: number; sketches: Record<string, FeatureSketchesJSON> } | undefined;

  constructor(
    readonly tenantId: string,
    private readonly repo: KeyValueRepository,
    private readonly now: () => number = Date.now,
  ) {}

  private async load(): Promise<Loaded> {
    if (this.state) return this.state;
    const [config, index, baselines, alerts] = await Promise.all([
      this.read('config', driftConfigSchema),
      this.read('index', windowIndexSchema),
      this.read('baselines', baselineListSchema),
      this.read('alerts', alertStateSchema),
    ]);
    this.state = {
      config: config ?? defaultDriftConfig,
      index: new Map((index ?? []).map((ref) => [windowId(ref), ref])),
      indexDirty: false,
      baselines: baselines ?? [],
      alerts: alerts ?? emptyAlertState(),
    };
    return this.state;
  }

  /** A stored value parsed with its schema; a StoredDataError naming the tenant and key when it does not fit. */
  private async read<T>(key: string, schema: z.ZodType<T>): Promise<T | undefined> {
    const v = await this.repo.get(key);
    return v === undefined ? undefined : parseStored(schema, v, `The drift store's '${key}' of tenant '${this.tenantId}'`, STORED_HINT);
  }

  private async saveIndex(st: Loaded): Promise<void> {
    if (!st.indexDirty) return;
    await this.repo.put('index', [...st.index.values()]);
    st.indexDirty = false;
  }

  private async getWindow(ref: WindowRef): Promise<FeatureSketches | undefined> {
    const id = windowId(ref);
    const cached = this.windows.get(id);
    if (cached) return cached;
    const json = await this.read(id, featureSketchesSchema);
    if (!json) return undefined;
    const sketches = FeatureSketches.fromJSON(json);
    this.cacheWindow(id, sketches);
    return sketches;
  }

  private cacheWindow(id: string, sketches: FeatureSketches): void {
    this.windows.set(id, sketches);
  }

  /** Merges an isolate's delta into every window size, prunes expired windows and evaluates alerts. */
  async ingest(delta: DriftDelta): Promise<IngestResult> {
    const st = await this.load();
    if (JSON.stringify(st.config) !== JSON.stringify(delta.config)) {
      st.config = delta.config;
      await this.repo.put('config', delta.config);
      this.baselineCache.clear();
    }
    const latest = new Map<string, { model: string; arm: string; at: number }>();
    for (const entry of delta.entries) {
      await this.mergeEntry(st, entry);
      const g = groupKey(entry.model, entry.arm);
      if ((latest.get(g)?.at ?? -Infinity) < entry.start) latest.set(g, { model: entry.model, arm: entry.arm, at: entry.start });
    }
    await this.prune(st);
    await this.saveIndex(st);
    const result: IngestResult = { alerts: [], statuses: [] };
    const alertSpec = st.config.windows.find((w) => w.name === st.config.alertWindow) ?? finestWindow(st.config);
    for (const { model, arm, at } of latest.values()) {
      const report = await this.evaluateGroup(st, model, arm, alertSpec, windowStart(at, alertSpec.size));
      if (!report) continue;
      const { alerts, rows } = applyEvaluation(
        st.alerts,
        { tenantId: this.tenantId, model, arm, window: alertSpec.name, windowStart: report.window.start, baselineVersion: report.baseline.version, at: this.now() },
        report.features,
      );
      result.alerts.push(...alerts);
      result.statuses.push(...rows);
    }
    if (result.statuses.length) await this.repo.put('alerts', st.alerts);
    return result;
  }

  private async mergeEntry(st: Loaded, entry: DeltaEntry): Promise<void> {
    const incoming = FeatureSketches.fromJSON(entry.sketches);
    // Late data for a finished window changes what a trailing baseline of later windows contains.
    const finest = finestWindow(st.config).size;
    if (entry.start < windowStart(this.now(), finest)) this.baselineCache.clear();
    for (const spec of st.config.windows) {
      const ref: WindowRef = { window: spec.name, start: windowStart(entry.start, spec.size), model: entry.model, arm: entry.arm };
      if (expired(spec, ref.start, this.now())) continue;
      const id = windowId(ref);
      const sketches = (await this.getWindow(ref)) ?? new FeatureSketches();
      sketches.merge(incoming);
      this.cacheWindow(id, sketches);
      if (!st.index.has(id)) {
        st.index.set(id, ref);
        st.indexDirty = true;
      }
      await this.repo.put(id, sketches.toJSON());
    }
  }

  private async prune(st: Loaded): Promise<void> {
    const specs = new Map(st.config.windows.map((w) => [w.name, w]));
    const gone: string[] = [];
    for (const [id, ref] of st.index) {
      const spec = specs.get(ref.window);
      if (!spec || expired(spec, ref.start, this.now())) gone.push(id);
    }
    for (const id of gone) {
      st.index.delete(id);
      this.windows.delete(id);
    }
    if (gone.length) st.indexDirty = true;
    if (gone.length) await this.repo.delete(gone);
  }

  private settings(cfg: DriftConfig): EvaluationSettings {
    const disabled = new Set(Object.entries(cfg.features).filter(([, on]) => on === false).map(([n]) => n));
    return { bins: cfg.bins, minCount: cfg.minCount, alpha: cfg.alpha, smoothing: cfg.smoothing, categoryMinShare: cfg.categoryMinShare, disabled };
  }

  private activeBaseline(st: Loaded): BaselineMeta | undefined {
    return st.baselines.at(-1);
  }

  /** The merged windows covering [from, to) for one group. */
  private async mergeRange(st: Loaded, model: string, arm: string, from: number, to: number): Promise<FeatureSketches> {
    const specs: WindowSpec[] = st.config.windows;
    const tiles = tileRange(specs, from, to, (spec, start) => st.index.has(windowId({ window: spec.name, start, model, arm })));
    const merged = new FeatureSketches();
    for (const { spec, start } of tiles) {
      const w = await this.getWindow({ window: spec.name, start, model, arm });
      if (w) merged.merge(w);
    }
    return merged;
  }

  private async baselineFor(st: Loaded, model: string, arm: string, currentStart: number): Promise<{ sketches: FeatureSketches; version: number | 'trailing'; from: number; to: number }> {
    const active = this.activeBaseline(st);
    if (active && active.spec.kind === 'frozen') {
      if (this.frozen?.version !== active.version) {
        const stored = await this.read(`b:${active.version}`, storedBaselineSchema);
        this.frozen = { version: active.version, sketches: stored?.sketches ?? {} };
      }
      const json = this.frozen.sketches[groupKey(model, arm)];
      return { sketches: json ? FeatureSketches.fromJSON(json) : new FeatureSketches(), version: active.version, from: active.spec.from, to: active.spec.to };
    }
    const days = active?.spec.kind === 'trailing' ? active.spec.days : st.config.trailingDays;
    const version = active?.version ?? 'trailing';
    const key = `${version}|${groupKey(model, arm)}|${currentStart}|${days}`;
    let cached = this.baselineCache.get(key);
    if (!cached) {
      const from = currentStart - days * DAY_MS;
      cached = { sketches: await this.mergeRange(st, model, arm, from, currentStart), from, to: currentStart };
      this.baselineCache.set(key, cached);
    }
    return { ...cached, version };
  }

  private async evaluateGroup(st: Loaded, model: string, arm: string, spec: WindowSpec, start: number): Promise<GroupReport | undefined> {
    const current = (await this.getWindow({ window: spec.name, start, model, arm })) ?? new FeatureSketches();
    const baseline = await this.baselineFor(st, model, arm, start);
    const features = evaluateSketches(baseline.sketches, current, this.settings(st.config));
    return {
      model,
      arm,
      window: { name: spec.name, start, end: start + spec.size, partial: this.now() < start + spec.size },
      baseline: { version: baseline.version, from: baseline.from, to: baseline.to, requests: baseline.sketches.requests },
      requests: current.requests,
      status: worstStatus(features),
      features,
    };
  }

  async report(opts: DriftReportOptions = {}): Promise<DriftReport> {
    const st = await this.load();
    const spec = opts.window === undefined ? finestWindow(st.config) : st.config.windows.find((w) => w.name === opts.window);
    if (!spec) throw new RangeError(`unknown window '${opts.window}'; this tenant has: ${st.config.windows.map((w) => w.name).join(', ')}`);
    const latest = new Map<string, { model: string; arm: string; start: number }>();
    for (const ref of st.index.values()) {
      if (ref.window !== spec.name) continue;
      if (opts.model !== undefined && ref.model !== opts.model) continue;
      if (opts.arm !== undefined && ref.arm !== opts.arm) continue;
      const g = groupKey(ref.model, ref.arm);
      const start = opts.at !== undefined ? windowStart(opts.at, spec.size) : ref.start;
      if ((latest.get(g)?.start ?? -Infinity) < start) latest.set(g, { model: ref.model, arm: ref.arm, start });
    }
    const groups: GroupReport[] = [];
    for (const g of [...latest.values()].sort((a, b) => (a.model + a.arm < b.model + b.arm ? -1 : 1))) {
      const r = await this.evaluateGroup(st, g.model, g.arm, spec, g.start);
      if (r) groups.push(r);
    }
    const active = this.activeBaseline(st);
    const { disabled: _disabled, ...settings } = this.settings(st.config);
    return {
      tenantId: this.tenantId,
      generatedAt: this.now(),
      window: spec.name,
      settings,
      baseline: active ?? { version: 'trailing', spec: { kind: 'trailing', days: st.config.trailingDays } },
      groups,
    };
  }

  /** Creates a new baseline version (frozen from a range, or trailing N days) and makes it active. */
  async putBaseline(req: BaselineRequest): Promise<BaselineMeta> {
    const st = await this.load();
    const version = (st.baselines.at(-1)?.version ?? 0) + 1;
    const createdAt = this.now();
    let meta: BaselineMeta;
    if ('restore' in req) {
      const old = st.baselines.find((b) => b.version === req.restore);
      if (!old) throw new RangeError(`no baseline version ${req.restore}; versions: ${st.baselines.map((b) => b.version).join(', ') || 'none'}`);
      const spec = { ...old.spec, ...(req.label ? { label: req.label } : {}) };
      meta = { version, createdAt, spec, groups: old.groups };
      if (old.spec.kind === 'frozen') {
        const stored = await this.read(`b:${old.version}`, storedBaselineSchema);
        await this.repo.put(`b:${version}`, { ...meta, sketches: stored?.sketches ?? {} });
      }
    } else if ('trailingDays' in req) {
      meta = { version, createdAt, spec: { kind: 'trailing', days: req.trailingDays, ...(req.label ? { label: req.label } : {}) }, groups: [] };
    } else {
      if (!(req.from < req.to)) throw new RangeError('baseline range needs from < to');
      const groups = new Map<string, { model: string; arm: string }>();
      for (const ref of st.index.values()) groups.set(groupKey(ref.model, ref.arm), { model: ref.model, arm: ref.arm });
      const sketches: Record<string, FeatureSketchesJSON> = {};
      const summary: BaselineMeta['groups'] = [];
      for (const [key, g] of groups) {
        const merged = await this.mergeRange(st, g.model, g.arm, req.from, req.to);
        if (merged.requests === 0) continue;
        sketches[key] = merged.toJSON();
        summary.push({ ...g, requests: merged.requests });
      }
      if (summary.length === 0) throw new RangeError('no retained traffic in that range: choose a range with data (see GET /drift for window times)');
      meta = { version, createdAt, spec: { kind: 'frozen', from: req.from, to: req.to, ...(req.label ? { label: req.label } : {}) }, groups: summary };
      const stored: StoredBaseline = { ...meta, sketches };
      await this.repo.put(`b:${version}`, stored);
    }
    st.baselines.push(meta);
    await this.repo.put('baselines', st.baselines);
    this.baselineCache.clear();
    // A new baseline changes what "drift" means: re-arm alerts.
    st.alerts = emptyAlertState();
    await this.repo.put('alerts', st.alerts);
    return meta;
  }

  async baselines(): Promise<BaselineListing> {
    const st = await this.load();
    return { active: this.activeBaseline(st) ?? null, versions: st.baselines };
  }
}
