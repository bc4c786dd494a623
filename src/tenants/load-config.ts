import { plainKeyRecords, type ParsedSnapshot } from './snapshot.ts';
import type { TenantStore } from './store.ts';

/** Puts a parsed config-file snapshot into a store (plain keys hashed here): `kvroute serve --config`, static configs. */
export async function loadSnapshotInto(store: TenantStore, snap: ParsedSnapshot): Promise<void> {
  for (const [id, t] of Object.entries(snap.tenants)) await store.putTenant(id, t.config);
  for (const k of [...snap.keys, ...(await plainKeyRecords(snap))]) await store.putKey(k);
}
