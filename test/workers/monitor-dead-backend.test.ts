// The BackendMonitor probing a backend that refuses connections marks it unhealthy and keeps the live one healthy.
// (workerd logs "Uncaught (in promise) Error: Network connection lost" for every refused subrequest, even one the
// Worker catches: a bare `fetch(...).catch(...)` to a closed port logs it too. That line is the runtime's, not an
// escaped rejection.)
import { SELF, env, runDurableObjectAlarm } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import { monitorSnapshotSchema, type MonitorSnapshot } from '../../src/upstream/monitor-sync.ts';

const ADMIN = { authorization: 'Bearer dev-admin-token', 'content-type': 'application/json' };

describe('BackendMonitor and a dead backend', () => {
  it('marks a backend that refuses connections unhealthy and keeps the live one healthy', async () => {
    const live = inject('simUrls')[0]!;
    const dead = 'http://127.0.0.1:9'; // discard port: nothing listens
    const put = await SELF.fetch('http://kvroute/admin/tenants/monitored-dead', {
      method: 'PUT',
      headers: ADMIN,
      body: JSON.stringify({
        models: { m: { pool: 'p', model: 'llama-3.1-8b' } },
        pools: { p: { backends: [{ id: 'live', url: live }, { id: 'dead', url: dead }] } },
        health: { probeIntervalMs: 100, failureThreshold: 2 },
      }),
    });
    expect(put.status).toBe(201);
    const stub = env.BACKEND_MONITOR.get(env.BACKEND_MONITOR.idFromName('global'));
    let snap: MonitorSnapshot = { at: 0, backends: {} };
    for (let i = 0; i < 50; i++) {
      await runDurableObjectAlarm(stub);
      snap = monitorSnapshotSchema.parse(await stub.snapshot());
      if (snap.backends[dead]?.healthy === false) break;
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(snap.backends[dead]?.healthy).toBe(false);
    expect(snap.backends[live]?.healthy).toBe(true);
  });
});
