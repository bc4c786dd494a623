// Per-isolate accumulation: requests are recorded into in-memory sketches of the finest window, per
// (tenant, model, arm), and drained as deltas that the store merges (into every window size) on flush.
// Recording never does I/O; draining hands the deltas over and starts from empty sketches.
import { finestWindow, type DriftConfig } from '../config/drift.ts';
import type { FeatureVector } from './features.ts';
import { FeatureSketches, type FeatureSketchesJSON } from './sketches.ts';
import { windowStart } from './window.ts';

/** One group's sketches of one finest window. */
export interface DeltaEntry {
  model: string;
  arm: string;
  /** Start of the finest window the requests fell in (epoch ms). */
  start: number;
  sketches: FeatureSketchesJSON;
}

/** What an isolate sends to a tenant's store: its sketches, and the drift config they were recorded under. */
export interface DriftDelta {
  config: DriftConfig;
  entries: DeltaEntry[];
}

interface Pending {
  model: string;
  arm: string;
  start: number;
  sketches: FeatureSketches;
}

interface TenantPending {
  config: DriftConfig;
  disabled: ReadonlySet<string>;
  groups: Map<string, Pending>;
}

export class DriftAccumulator {
  private tenants = new Map<string, TenantPending>();
  private recorded = 0;

  /** Requests recorded since the last drain. */
  get pending(): number {
    return this.recorded;
  }

  record(tenantId: string, config: DriftConfig, model: string, arm: string, features: FeatureVector, at: number): void {
    let tenant = this.tenants.get(tenantId);
    if (!tenant || tenant.config !== config) {
      const disabled = new Set(Object.entries(config.features).filter(([, on]) => on === false).map(([name]) => name));
      const groups = tenant?.groups ?? new Map<string, Pending>();
      tenant = { config, disabled, groups };
      this.tenants.set(tenantId, tenant);
    }
    const start = windowStart(at, finestWindow(config).size);
    const key = `${start}\u0000${model}\u0000${arm}`;
    let group = tenant.groups.get(key);
    if (!group) tenant.groups.set(key, (group = { model, arm, start, sketches: new FeatureSketches(tenant.disabled) }));
    group.sketches.record(features);
    this.recorded++;
  }

  /** Everything recorded since the last drain, one delta per tenant; the accumulator is empty afterwards. */
  drain(): Array<{ tenantId: string; delta: DriftDelta }> {
    const out: Array<{ tenantId: string; delta: DriftDelta }> = [];
    for (const [tenantId, t] of this.tenants) {
      if (t.groups.size === 0) continue;
      const entries = [...t.groups.values()].map((g) => ({ model: g.model, arm: g.arm, start: g.start, sketches: g.sketches.toJSON() }));
      out.push({ tenantId, delta: { config: t.config, entries } });
    }
    this.tenants = new Map();
    this.recorded = 0;
    return out;
  }

  /** Adds another accumulator's pending sketches (e.g. from a worker thread) into this one. */
  merge(other: DriftAccumulator): this {
    for (const { tenantId, delta } of other.drain()) this.restore(tenantId, delta);
    return this;
  }

  /** Puts a drained delta back (its flush failed), so it goes out with the next flush instead of being lost. */
  restore(tenantId: string, delta: DriftDelta): void {
    let t = this.tenants.get(tenantId);
    if (!t) {
      const disabled = new Set(Object.entries(delta.config.features).filter(([, on]) => on === false).map(([n]) => n));
      this.tenants.set(tenantId, (t = { config: delta.config, disabled, groups: new Map() }));
    }
    for (const e of delta.entries) {
      const key = `${e.start}\u0000${e.model}\u0000${e.arm}`;
      const incoming = FeatureSketches.fromJSON(e.sketches);
      const existing = t.groups.get(key);
      if (existing) existing.sketches.merge(incoming);
      else t.groups.set(key, { model: e.model, arm: e.arm, start: e.start, sketches: incoming });
      this.recorded += incoming.requests;
    }
  }
}
