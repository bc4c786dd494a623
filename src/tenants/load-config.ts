import { parseSnapshot, plainKeyRecords } from './snapshot.ts';
import type { TenantStore } from './store.ts';

/** Loads a config-file snapshot into a store (configs validated, plain keys hashed). Returns its admin token. */
export async function parsePlainSnapshotInto(store: TenantStore, input: unknown, source: string): Promise<string | undefined> {
  const snap = parseSnapshot(input, source);
  for (const [id, t] of Object.entries(snap.tenants)) await store.putTenant(id, t.config);
  for (const k of [...snap.keys, ...(await plainKeyRecords(snap))]) await store.putKey(k);
  return snap.adminToken;
}
