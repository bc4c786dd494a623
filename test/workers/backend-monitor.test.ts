// The BackendMonitor Durable Object probes every configured backend once for the fleet (on its alarm) and
// serves the snapshot that isolates fold into their own backend state.
import { SELF, env, runDurableObjectAlarm } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import { monitorSnapshotSchema, type MonitorSnapshot } from '../../src/upstream/monitor-sync.ts';

const ADMIN = { authorization: 'Bearer dev-admin-token', 'content-type': 'application/json' };

describe('BackendMonitor Durable Object', () => {
  it('probes health and reads vLLM load metrics of every backend on its alarm', async () => {
    const urls = inject('simUrls');
    const put = await SELF.fetch('http://kvroute/admin/tenants/monitored', {
      method: 'PUT',
      headers: ADMIN,
      body: JSON.stringify({
        models: { m: { pool: 'p', model: 'llama-3.1-8b' } },
        pools: { p: { backends: urls.map((url, i) => ({ id: `b${i}`, url, engine: 'vllm' })) } },
        health: { probeIntervalMs: 100 },
      }),
    });
    expect(put.status).toBe(201);
    const stub = env.BACKEND_MONITOR.get(env.BACKEND_MONITOR.idFromName('global'));
    await stub.snapshot(); // the first call starts the probe alarm
    // The alarm may already be running on its own (it was set 100 ms ahead); drive it until a probe round has
    // completed for every backend (bounded).
    let snap: MonitorSnapshot = { at: 0, backends: {} };
    for (let i = 0; i < 50; i++) {
      await runDurableObjectAlarm(stub);
      snap = monitorSnapshotSchema.parse(await stub.snapshot());
      if (urls.every((u) => snap.backends[u]?.engineAgeMs != null)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const url of urls) {
      const b = snap.backends[url];
      expect(b, url).toBeDefined();
      expect(b!.healthy).toBe(true);
      expect(b!.engine.running).toBe(0);
      expect(b!.engineAgeMs).not.toBeNull();
    }
  });

  it('sends each backend\'s apiKey with its probes, and reports an engine whose key is missing', async () => {
    const url = inject('keyedEngineUrl');
    const put = (tenant: string, apiKey?: string) =>
      SELF.fetch(`http://kvroute/admin/tenants/${tenant}`, {
        method: 'PUT',
        headers: ADMIN,
        body: JSON.stringify({ models: { m: { pool: 'p' } }, pools: { p: { backends: [{ id: 'k', url, engine: 'llama-cpp', ...(apiKey ? { apiKey } : {}) }] } }, health: { probeIntervalMs: 100 } }),
      });
    expect((await put('keyless')).status).toBe(201);
    const stub = env.BACKEND_MONITOR.get(env.BACKEND_MONITOR.idFromName('global'));
    const probed = async (cond: (b: MonitorSnapshot['backends'][string] | undefined) => boolean) => {
      let snap: MonitorSnapshot = { at: 0, backends: {} };
      for (let i = 0; i < 50 && !cond(snap.backends[url]); i++) {
        await runDurableObjectAlarm(stub);
        snap = monitorSnapshotSchema.parse(await stub.snapshot());
        await new Promise((r) => setTimeout(r, 100));
      }
      return snap.backends[url];
    };
    const refused = await probed((b) => b?.engineReport != null);
    expect(refused?.engineReport).toContain('answered 401');
    expect((await put('keyless', 'engine-secret')).status).toBe(200);
    const read = await probed((b) => b?.engineAgeMs != null && b.engineReport === null);
    expect(read?.engine).toMatchObject({ running: 4, waiting: 46 });
    expect(read?.engineReport).toBeNull();
  });
});
