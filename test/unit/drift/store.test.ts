// The drift store end to end on a fake clock: recorder -> store (in memory, and the Durable Object's logic through
// its RPC methods on an in-memory storage) -> windows, baselines, report, alert-once semantics, retention.
import { describe, expect, it } from 'vitest';
import { driftConfigSchema, type DriftConfig } from '../../../src/config/drift.ts';
import type { DriftAlert, DriftStatusRow } from '../../../src/drift/alerts.ts';
import { DriftObjectCore, type DurableObjectStorageLike } from '../../../src/workers/drift-object-core.ts';
import { DurableDriftStore } from '../../../src/workers/durable-drift-store.ts';
import { createDriftRecorder } from '../../../src/drift/recorder.ts';
import { MemoryDriftStore, type DriftStore } from '../../../src/drift/store.ts';
import { BASE_SHAPE, trafficSource } from './traffic.ts';
import { stringContaining } from '../../helpers/matchers.ts';

const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;

class MemoryStorage implements DurableObjectStorageLike {
  readonly data = new Map<string, unknown>();
  async get<T>(key: string) {
    return structuredClone(this.data.get(key)) as T | undefined;
  }
  async put<T>(key: string, value: T) {
    this.data.set(key, structuredClone(value));
  }
  async delete(keys: string[]) {
    if (keys.length > 128) throw new Error('storage.delete takes at most 128 keys');
    let n = 0;
    for (const k of keys) if (this.data.delete(k)) n++;
    return n;
  }
}

/** One drift object per tenant name, called through its RPC methods like a namespace binding's stubs. */
function durableStore(now: () => number): { store: DriftStore; storage: Map<string, MemoryStorage> } {
  const objects = new Map<string, DriftObjectCore>();
  const storage = new Map<string, MemoryStorage>();
  const objectOf = (name: string) => {
    if (!objects.has(name)) {
      storage.set(name, new MemoryStorage());
      objects.set(name, new DriftObjectCore(storage.get(name)!, now));
    }
    return objects.get(name)!;
  };
  return { store: new DurableDriftStore(objectOf), storage };
}

function harness(kind: 'memory' | 'durable', configInput: Record<string, unknown> = {}) {
  let clock = T0;
  const now = () => clock;
  const durable = kind === 'durable' ? durableStore(now) : undefined;
  const store = durable?.store ?? new MemoryDriftStore(now);
  const alerts: DriftAlert[] = [];
  const statuses: DriftStatusRow[] = [];
  const pending: Array<Promise<unknown>> = [];
  const config: DriftConfig = driftConfigSchema.parse({ alertWebhook: 'https://hooks.example/drift', flushInterval: '1m', ...configInput });
  const recorder = createDriftRecorder({
    store,
    now,
    waitUntil: (p) => pending.push(p),
    fetch: async (_url, init) => {
      if (typeof init.body !== 'string') throw new Error('the alert webhook sends JSON text');
      alerts.push((JSON.parse(init.body) as { alert: DriftAlert }).alert);
      return new Response('ok');
    },
    onStatus: (rows) => void statuses.push(...rows),
    onError: (err) => {
      throw err;
    },
  });
  /** Sends `count` requests spread evenly over [clock, clock + span), then flushes. */
  async function traffic(next: ReturnType<typeof trafficSource>, count: number, span: number, model = 'llama-3-8b', arm = '') {
    const start = clock;
    for (let i = 0; i < count; i++) {
      clock = start + Math.floor((i * span) / count);
      const r = next();
      // The flush it may start also goes to waitUntil, i.e. into `pending`, awaited below.
      void recorder.observe({ tenantId: 'acme', config, samplingId: `r${clock}-${i}`, model, arm, body: r.body, response: r.response });
    }
    clock = start + span;
    await Promise.all(pending.splice(0));
    await recorder.flush();
  }
  return { store, alerts, statuses, traffic, config, storage: durable?.storage, setClock: (t: number) => (clock = t), now };
}

for (const kind of ['memory', 'durable'] as const) {
  describe(`drift store (${kind})`, () => {
    it('frozen baseline: shifted traffic is major, alerts once per transition into major', async () => {
      const h = harness(kind);
      const normal = trafficSource(11);
      const doubled = trafficSource(12, { ...BASE_SHAPE, lengthScale: 2 });
      await h.traffic(normal, 3600, HOUR); // one hour of baseline traffic
      const baseline = await h.store.putBaseline('acme', { from: T0, to: T0 + HOUR, label: 'week 1' });
      expect(baseline).toMatchObject({ version: 1, spec: { kind: 'frozen', from: T0, to: T0 + HOUR }, groups: [{ model: 'llama-3-8b', arm: '', requests: 3600 }] });

      await h.traffic(normal, 300, 5 * MIN);
      let report = await h.store.report('acme');
      let group = report.groups[0]!;
      expect(group.window).toEqual({ name: '5m', start: T0 + HOUR, end: T0 + HOUR + 5 * MIN, partial: false });
      expect(group.baseline).toMatchObject({ version: 1, requests: 3600 });
      expect(group.status).toBe('none');
      expect(h.alerts).toHaveLength(0);

      await h.traffic(doubled, 300, 5 * MIN);
      report = await h.store.report('acme');
      group = report.groups[0]!;
      const chars = group.features.find((f) => f.feature === 'prompt_chars')!;
      expect(chars).toMatchObject({ status: 'major', n: 300, m: 3600, bins: 10, smoothing: 'half' });
      expect(group.status).toBe('major');
      const alerted = h.alerts.map((a) => a.feature).sort();
      expect(alerted).toContain('prompt_chars');
      expect(h.alerts[0]).toMatchObject({ tenantId: 'acme', model: 'llama-3-8b', window: '5m', baselineVersion: 1 });
      expect(h.statuses.some((r) => r.feature === 'prompt_chars' && r.status === 'major' && r.previous === 'none')).toBe(true);

      // Drift persists into the next window: no second alert.
      await h.traffic(doubled, 300, 5 * MIN);
      expect(h.alerts.map((a) => a.feature).sort()).toEqual(alerted);

      // Recovery re-arms; drift again alerts again.
      await h.traffic(normal, 300, 5 * MIN);
      expect((await h.store.report('acme')).groups[0]!.features.find((f) => f.feature === 'prompt_chars')!.status).toBe('none');
      await h.traffic(doubled, 300, 5 * MIN);
      expect(h.alerts.filter((a) => a.feature === 'prompt_chars')).toHaveLength(2);

      // The hour window holds everything since T0 + 1h; the listing shows the version.
      const hourly = await h.store.report('acme', { window: '1h' });
      expect(hourly.groups[0]?.requests).toBe(1500);
      expect((await h.store.getBaselines('acme')).active).toMatchObject({ version: 1, spec: { label: 'week 1' } });
    });

    it('without a PUT baseline, compares with the trailing days before the current window', async () => {
      const h = harness(kind, { trailingDays: 1 });
      await h.traffic(trafficSource(21), 1200, HOUR);
      await h.traffic(trafficSource(22, { ...BASE_SHAPE, lengthScale: 2 }), 400, 5 * MIN);
      const report = await h.store.report('acme');
      expect(report.baseline).toMatchObject({ version: 'trailing', spec: { kind: 'trailing', days: 1 } });
      const g = report.groups[0]!;
      expect(g.baseline).toMatchObject({ version: 'trailing', from: T0 + HOUR - 86_400_000, to: T0 + HOUR, requests: 1200 });
      expect(g.features.find((f) => f.feature === 'prompt_chars')!.status).toBe('major');
      expect(g.features.find((f) => f.feature === 'temperature')!.status).toBe('none');
    });

    it('keeps (model, arm) groups apart, and filters by them', async () => {
      const h = harness(kind);
      await h.traffic(trafficSource(31), 300, 5 * MIN, 'a', 'control');
      await h.traffic(trafficSource(32), 300, 5 * MIN, 'a', 'treatment');
      const all = await h.store.report('acme', { at: T0 });
      // Every known group is listed; the treatment arm had no traffic in the first window yet.
      expect(all.groups.map((g) => [g.model, g.arm, g.requests, g.status])).toEqual([['a', 'control', 300, 'insufficient_data'], ['a', 'treatment', 0, 'insufficient_data']]);
      const latest = await h.store.report('acme');
      expect(latest.groups.map((g) => [g.arm, g.requests])).toEqual([['control', 300], ['treatment', 300]]);
      expect((await h.store.report('acme', { arm: 'treatment' })).groups).toHaveLength(1);
    });

    it('rejects an unknown window and an empty baseline range with RangeError', async () => {
      const h = harness(kind);
      await h.traffic(trafficSource(41), 10, MIN);
      await expect(h.store.report('acme', { window: '7m' })).rejects.toThrow(/unknown window '7m'.*5m, 1h/);
      await expect(h.store.putBaseline('acme', { from: T0 + 10 * HOUR, to: T0 + 11 * HOUR })).rejects.toThrow(/no retained traffic/);
    });
  });
}

describe('retention (durable object storage)', () => {
  it('drops windows past retention from storage', async () => {
    const h = harness('durable', { windows: [{ name: '5m', size: '5m', retention: '1h' }, { name: '1h', size: '1h', retention: '1d' }] });
    await h.traffic(trafficSource(51), 240, 2 * HOUR);
    const keys = () => [...h.storage!.get('acme')!.data.keys()].filter((k) => k.startsWith('w:'));
    expect(keys().filter((k) => k.startsWith('w:5m:')).length).toBeLessThanOrEqual(13);
    expect(keys().filter((k) => k.startsWith('w:1h:'))).toHaveLength(2);
    h.setClock(T0 + 3 * 86_400_000);
    await h.traffic(trafficSource(52), 10, MIN);
    expect(keys().filter((k) => k.startsWith('w:1h:'))).toHaveLength(1);
    expect(keys().filter((k) => k.startsWith('w:5m:'))).toHaveLength(1);
  });
});

describe('drift data crossing the Durable Object boundary', () => {
  it('an argument of another shape is a RangeError naming the field, not a crash inside the ledger', async () => {
    const object = new DriftObjectCore(new MemoryStorage(), () => 0);
    const bad = { config: {}, entries: [{ model: 'm' }] } as never;
    await expect(object.ingest('t', bad)).rejects.toThrow(RangeError);
    await expect(object.ingest('t', bad)).rejects.toThrow(/^invalid ingest request at 'entries\.0\.arm'/);
    await expect(object.report('', {})).rejects.toThrow(new RangeError('missing tenant id'));
  });

  it('stored data of another shape is an error that names the tenant and the key', async () => {
    const storage = new MemoryStorage();
    await storage.put('index', [{ window: '5m', start: 'yesterday' }]);
    const object = new DriftObjectCore(storage, () => 0);
    await expect(object.report('t', {})).rejects.toThrow("The drift store's 'index' of tenant 't' does not have the expected shape at '0.start'");
  });

  it("an object's answer of another shape is refused by the client with the tenant's name", async () => {
    const otherVersion = { report: async () => ({ groups: 'none' }) } as never;
    await expect(new DurableDriftStore(() => otherVersion).report('acme')).rejects.toMatchObject({
      status: 503,
      message: stringContaining("The drift store's answer to report for tenant 'acme' does not have the expected shape"),
    });
  });
});
