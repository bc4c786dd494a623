// The drift subsystem inside workerd: the same sketch and PSI code as on Node (btoa/atob, structuredClone), and
// the drift Durable Object bound as DRIFT, called through Workers RPC the way isolates call it.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { defaultDriftConfig } from '../../src/config/drift.ts';
import { DriftAccumulator } from '../../src/drift/aggregate.ts';
import { DurableDriftStore } from '../../src/workers/durable-drift-store.ts';
import { stubByName } from '../../src/workers/env.ts';
import { rejectionOf } from '../helpers/rpc.ts';
import { extractFeatures } from '../../src/drift/features.ts';
import { LogHist } from '../../src/drift/loghist.ts';
import { psi } from '../../src/drift/psi.ts';
import { fromBase64, toBase64 } from '../../src/drift/varint.ts';

describe('drift in workerd', () => {
  it('computes golden PSI and round-trips a sketch through base64', () => {
    expect(Math.abs(psi([500, 300, 150, 50], [80, 20, 0, 0], { input: 'counts', smoothing: 'half' }).psi - 0.7753965917211588)).toBeLessThan(1e-9);
    const h = new LogHist();
    for (let i = 1; i <= 1000; i++) h.add(i * 1.7);
    const back = LogHist.deserialize(fromBase64(toBase64(h.serialize())));
    expect(back.sortedBuckets()).toEqual(h.sortedBuckets());
  });

  it('ingests deltas into the Durable Object over RPC and reports per feature', async () => {
    // The object keeps its own clock: the traffic fills the three 5-minute windows before the current one.
    const t0 = Math.floor(Date.now() / 300_000) * 300_000 - 900_000;
    const store = new DurableDriftStore(stubByName(env.DRIFT));
    const acc = new DriftAccumulator();
    const record = (i: number, chars: number) =>
      acc.record('acme', defaultDriftConfig, 'm', '', extractFeatures({ messages: [{ role: 'user', content: 'x'.repeat(chars) }], temperature: 0.7 }, { status: 200, latencyMs: 100 }), t0 + i * 1000);
    for (let i = 0; i < 600; i++) record(i, 50 + (i % 100));
    for (const { tenantId, delta } of acc.drain()) await store.ingest(tenantId, delta);
    await store.putBaseline('acme', { from: t0, to: t0 + 600_000 });
    for (let i = 600; i < 900; i++) record(i, 2 * (50 + (i % 100)));
    for (const { tenantId, delta } of acc.drain()) await store.ingest(tenantId, delta);
    const report = await store.report('acme');
    const chars = report.groups[0]!.features.find((f) => f.feature === 'prompt_chars')!;
    expect(chars).toMatchObject({ status: 'major', n: 300, m: 600 });
    // The object's RangeError (the caller's fault) reaches the caller as a RangeError: the admin API's 400.
    const unknown = await rejectionOf(store.report('acme', { window: 'nope' }));
    expect(unknown).toBeInstanceOf(RangeError);
    expect(unknown?.message).toMatch(/unknown window 'nope'/);
  });

  it('the object refuses an argument of another shape with a RangeError that names the field', async () => {
    const stub = stubByName(env.DRIFT)('drift-bad-input');
    const err = await rejectionOf(stub.ingest('drift-bad-input', { config: {}, entries: [{ model: 'm' }] } as never));
    expect(err).toBeInstanceOf(RangeError);
    expect(err?.message).toMatch(/^invalid ingest request at 'entries\.0\.arm'/);
    expect((await rejectionOf(stub.baselines('')))?.message).toBe('missing tenant id');
  });
});
