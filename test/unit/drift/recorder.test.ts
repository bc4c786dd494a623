import { describe, expect, it } from 'vitest';
import { driftConfigSchema } from '../../../src/config/drift.ts';
import type { DriftDelta } from '../../../src/drift/aggregate.ts';
import { createDriftRecorder } from '../../../src/drift/recorder.ts';
import { MemoryDriftStore, type DriftStore } from '../../../src/drift/store.ts';
import { trafficSource } from './traffic.ts';

const T0 = Date.UTC(2026, 0, 5);

function observeMany(recorder: ReturnType<typeof createDriftRecorder>, config: ReturnType<typeof driftConfigSchema.parse>, count: number) {
  const next = trafficSource(9);
  const flushes: Array<Promise<void>> = [];
  for (let i = 0; i < count; i++) {
    const r = next();
    const f = recorder.observe({ tenantId: 'acme', config, requestId: `req-${i}`, model: 'm', arm: '', body: r.body, response: r.response });
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

  it('samples deterministically by request id and skips disabled tenants', async () => {
    const store = new MemoryDriftStore(() => T0);
    const recorder = createDriftRecorder({ store, now: () => T0 });
    await Promise.all(observeMany(recorder, driftConfigSchema.parse({ sampling: 0.25 }), 2000));
    await Promise.all(observeMany(recorder, driftConfigSchema.parse({ enabled: false }), 500));
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
