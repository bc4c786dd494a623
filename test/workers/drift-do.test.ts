// The drift subsystem inside workerd: the same sketch, PSI and Durable Object code as on Node (btoa/atob,
// structuredClone, Request/Response), with the object's storage replaced by a Map until wrangler.toml binds DRIFT.
import { describe, expect, it } from 'vitest';
import { defaultDriftConfig } from '../../src/config/drift.ts';
import { DriftAccumulator } from '../../src/drift/aggregate.ts';
import { DriftDurableObject, DurableDriftStore, type DurableObjectStorageLike } from '../../src/workers/drift-durable-object.ts';
import { extractFeatures } from '../../src/drift/features.ts';
import { LogHist } from '../../src/drift/loghist.ts';
import { psi } from '../../src/drift/psi.ts';
import { fromBase64, toBase64 } from '../../src/drift/varint.ts';

class MapStorage implements DurableObjectStorageLike {
  readonly data = new Map<string, unknown>();
  async get<T>(key: string) {
    return structuredClone(this.data.get(key)) as T | undefined;
  }
  async put<T>(key: string, value: T) {
    this.data.set(key, structuredClone(value));
  }
  async delete(keys: string[]) {
    return keys.filter((k) => this.data.delete(k)).length;
  }
}

describe('drift in workerd', () => {
  it('computes golden PSI and round-trips a sketch through base64', () => {
    expect(Math.abs(psi([500, 300, 150, 50], [80, 20, 0, 0], { input: 'counts', smoothing: 'half' }).psi - 0.7753965917211588)).toBeLessThan(1e-9);
    const h = new LogHist();
    for (let i = 1; i <= 1000; i++) h.add(i * 1.7);
    const back = LogHist.deserialize(fromBase64(toBase64(h.serialize())));
    expect(back.sortedBuckets()).toEqual(h.sortedBuckets());
  });

  it('ingests deltas into the Durable Object and reports per feature', async () => {
    const t0 = Date.UTC(2026, 0, 5);
    const clock = { now: t0 };
    const object = new DriftDurableObject({ storage: new MapStorage() }, {}, () => clock.now);
    const store = new DurableDriftStore({ idFromName: (n: string) => n, get: () => ({ fetch: (input: string, init?: RequestInit) => object.fetch(new Request(input, init)) }) });
    const acc = new DriftAccumulator();
    const record = (i: number, chars: number) =>
      acc.record('acme', defaultDriftConfig, 'm', '', extractFeatures({ messages: [{ role: 'user', content: 'x'.repeat(chars) }], temperature: 0.7 }, { status: 200, latencyMs: 100 }), t0 + i * 1000);
    for (let i = 0; i < 600; i++) record(i, 50 + (i % 100));
    for (const { tenantId, delta } of acc.drain()) await store.ingest(tenantId, delta);
    clock.now = t0 + 600_000;
    await store.putBaseline('acme', { from: t0, to: t0 + 600_000 });
    for (let i = 600; i < 900; i++) record(i, 2 * (50 + (i % 100)));
    for (const { tenantId, delta } of acc.drain()) await store.ingest(tenantId, delta);
    const report = await store.report('acme');
    const chars = report.groups[0]!.features.find((f) => f.feature === 'prompt_chars')!;
    expect(chars).toMatchObject({ status: 'major', n: 300, m: 600 });
    await expect(store.report('acme', { window: 'nope' })).rejects.toThrow(/unknown window/);
  });
});
