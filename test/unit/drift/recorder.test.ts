import { describe, expect, it } from 'vitest';
import { driftConfigSchema } from '../../../src/config/drift.ts';
import type { DriftDelta } from '../../../src/drift/aggregate.ts';
import { createDriftRecorder } from '../../../src/drift/recorder.ts';
import { driftObservationOf } from '../../../src/drift/from-record.ts';
import { MemoryDriftStore, type DriftStore } from '../../../src/drift/store.ts';
import { trafficSource } from './traffic.ts';

const T0 = Date.UTC(2026, 0, 5);

function observeMany(recorder: ReturnType<typeof createDriftRecorder>, config: ReturnType<typeof driftConfigSchema.parse>, count: number) {
  const next = trafficSource(9);
  const flushes: Array<Promise<void>> = [];
  for (let i = 0; i < count; i++) {
    const r = next();
    const f = recorder.observe({ tenantId: 'acme', config, samplingId: `req-${i}`, model: 'm', arm: '', body: r.body, response: r.response });
    if (f) flushes.push(f);
  }
  return flushes;
}

describe('createDriftRecorder', () => {
  it('keeps a delta whose flush failed and sends it with the next flush (nothing lost)', async () => {
    const inner = new MemoryDriftStore(() => T0);
    let failNext = true;
    const errors: unknown[] = [];
    const flaky: DriftStore = {
      ingest: async (tenantId: string, delta: DriftDelta) => {
        if (failNext) {
          failNext = false;
          throw new Error('store unavailable');
        }
        return inner.ingest(tenantId, delta);
      },
      report: (t, o) => inner.report(t, o),
      putBaseline: (t, r) => inner.putBaseline(t, r),
      getBaselines: (t) => inner.getBaselines(t),
    };
    const recorder = createDriftRecorder({ store: flaky, now: () => T0, onError: (e) => errors.push(e) });
    const config = driftConfigSchema.parse({});
    await Promise.all(observeMany(recorder, config, 120));
    await recorder.flush();
    expect(errors).toHaveLength(1);
    await recorder.flush();
    expect((await inner.report('acme')).groups[0]?.requests).toBe(120);
  });

  it('samples deterministically by sampling id and skips disabled tenants', async () => {
    const store = new MemoryDriftStore(() => T0);
    const recorder = createDriftRecorder({ store, now: () => T0 });
    await Promise.all(observeMany(recorder, driftConfigSchema.parse({ sampling: 0.25 }), 2000));
    await Promise.all(observeMany(recorder, driftConfigSchema.parse({ enabled: false }), 500));
    await recorder.flush();
    const n = (await store.report('acme')).groups[0]!.requests;
    expect(n).toBeGreaterThan(400);
    expect(n).toBeLessThan(600);
  });

  // The request id may be the client's own x-request-id: sampling on it would let a client choose to be sketched
  // or not. Records that share one request id but not the router's sampling id are sampled each on its own.
  it("samples on the router's sampling id, not on a request id the client chose", async () => {
    const store = new MemoryDriftStore(() => T0);
    const recorder = createDriftRecorder({ store, now: () => T0 });
    const config = driftConfigSchema.parse({ sampling: 0.5 });
    const next = trafficSource(3);
    for (let i = 0; i < 1000; i++) {
      const r = next();
      const rec = { requestId: 'chosen-by-the-client', samplingId: `router-${i}`, tenantId: 'acme', model: 'm', body: r.body, status: 200, ttftMs: 5, latencyMs: 50, outcome: 'completed', responseText: '' };
      void recorder.observe(driftObservationOf(rec, config));
    }
    await recorder.flush();
    const n = (await store.report('acme')).groups[0]!.requests;
    expect(n).toBeGreaterThan(400);
    expect(n).toBeLessThan(600);
  });

  it('starts a flush once flushInterval has passed and returns its promise', async () => {
    let clock = T0;
    const store = new MemoryDriftStore(() => clock);
    const handed: Array<Promise<unknown>> = [];
    const recorder = createDriftRecorder({ store, now: () => clock, waitUntil: (p) => handed.push(p) });
    const config = driftConfigSchema.parse({ flushInterval: '10s' });
    expect(observeMany(recorder, config, 10)).toHaveLength(0);
    clock += 10_000;
    const flushes = observeMany(recorder, config, 1);
    expect(flushes).toHaveLength(1);
    expect(handed).toEqual(flushes);
    await flushes[0];
    expect((await store.report('acme')).groups[0]?.requests).toBe(11);
  });
});
