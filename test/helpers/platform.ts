// A Node platform for app-level tests: the real app, real stores and the real upstream client.
import { createApp } from '../../routes/app.ts';
import type { Platform } from '../../src/runtimes/platform.ts';
import { defaultPolicyFactory } from '../../src/routing/policy-factory.ts';
import { TenantDirectory } from '../../src/tenants/directory.ts';
import { sha256Hex } from '../../src/tenants/keys.ts';
import { MemoryTenantStore, type TenantStore } from '../../src/tenants/store.ts';
import { BackendStates } from '../../src/upstream/backend-state.ts';
import { NodeUpstreamClient } from '../../src/upstream/node-client.ts';

export const ADMIN_TOKEN = 'test-admin-token-123';

export async function testApp(store: TenantStore = new MemoryTenantStore()) {
  const platform: Platform = {
    runtime: 'node',
    directory: new TenantDirectory(store, defaultPolicyFactory, 0),
    states: new BackendStates(),
    client: new NodeUpstreamClient(),
    adminTokenHash: await sha256Hex(ADMIN_TOKEN),
    // Tests run as local dev: their backends are simulators on loopback.
    egress: () => ({ localDev: true, self: [] }),
    now: () => performance.now(),
    defer: () => {},
  };
  const app = createApp(platform);
  const admin = (path: string, init: RequestInit = {}) =>
    app.request(`/admin${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });
  return { app, platform, store, admin };
}

export function poolConfig(urls: string[], extra: Record<string, unknown> = {}) {
  return {
    models: { 'llama-3.1-8b': { pool: 'gpu-a' } },
    pools: { 'gpu-a': { backends: urls.map((url, i) => ({ id: `b${i}`, url })) } },
    ...extra,
  };
}
