import { DurableObject } from 'cloudflare:workers';
import { BackendStates } from '../upstream/backend-state.ts';
import { FetchUpstreamClient } from '../upstream/fetch-client.ts';
import { snapshotOf } from '../upstream/monitor-sync.ts';
import { HealthProber } from '../upstream/probe.ts';
import type { MonitorSnapshot } from '../upstream/monitor-sync.ts';
import { stubByName, type BackendMonitorRpc, type Env } from './env.ts';
import { KvTenantStore } from './kv-tenant-store.ts';

/**
 * Probes every configured backend (engine health path and load metrics) on an alarm, once for the whole fleet,
 * and serves the result to isolates. Its state is soft: after an eviction it re-probes.
 */
export class BackendMonitor extends DurableObject<Env> implements BackendMonitorRpc {
  private states = new BackendStates();
  private prober = new HealthProber(
    new KvTenantStore({ kv: this.env.CONFIG, writer: stubByName(this.env.TENANT_WRITER) }),
    this.states,
    new FetchUpstreamClient(),
    () => Date.now(),
  );

  async snapshot(): Promise<MonitorSnapshot> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + 100);
    return snapshotOf(this.states, Date.now());
  }

  override async alarm(): Promise<void> {
    await this.prober.tick();
    await this.ctx.storage.setAlarm(Date.now() + 1_000);
  }
}
