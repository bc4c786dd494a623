// The platform side of shared prefix popularity (policies/shared-popularity.ts): one SharedPopularity view per
// tenant and pool in this isolate, and the periodic exchange with that scope's board. The board lives in a
// Durable Object on Workers (popularity-board-do.ts); the exchange never runs on a request's critical path.
import type { DurableObjectNamespaceLike } from '../drift/durable-object.ts';
import { DEFAULT_POPULARITY_SYNC_MS, SharedPopularity } from './policies/shared-popularity.ts';
import type { HotList } from './policies/prefix-popularity.ts';

/** Sends a batch to a scope's board and returns the board's hot list. */
export type BoardCall = (scope: string, halfLife: number, batch: Int32Array) => Promise<HotList>;

export class PopularityExchange {
  private readonly views = new Map<string, { view: SharedPopularity; halfLife: number; lastSync: number; busy: boolean }>();

  constructor(
    private readonly call: BoardCall,
    private readonly syncMs = DEFAULT_POPULARITY_SYNC_MS,
  ) {}

  /** The view for a tenant's pool; the same object across config versions, so its counts survive a reload. */
  viewFor(tenantId: string, pool: string, halfLife: number): SharedPopularity {
    const scope = `${tenantId}/${pool}/${halfLife}`;
    let v = this.views.get(scope);
    if (!v) this.views.set(scope, (v = { view: new SharedPopularity(halfLife), halfLife, lastSync: -Infinity, busy: false }));
    return v.view;
  }

  /** Whether some view has requests to send and its interval has passed. */
  due(now: number): boolean {
    for (const v of this.views.values()) if (!v.busy && v.view.pendingRequests > 0 && now - v.lastSync >= this.syncMs) return true;
    return false;
  }

  /** Exchanges every due view with its board. A failed exchange is retried at the next interval. */
  async sync(now: number): Promise<void> {
    const work: Promise<void>[] = [];
    for (const [scope, v] of this.views) {
      if (v.busy || v.view.pendingRequests === 0 || now - v.lastSync < this.syncMs) continue;
      v.busy = true;
      v.lastSync = now;
      const batch = v.view.takeBatch();
      work.push(
        this.call(scope, v.halfLife, batch)
          .then((list) => v.view.applyHotList(list))
          .finally(() => {
            v.busy = false;
          }),
      );
    }
    await Promise.allSettled(work);
  }
}

const ORIGIN = 'https://popularity-board';

/** A BoardCall through a Durable Object namespace (one object per scope). */
export function durableBoardCall(namespace: DurableObjectNamespaceLike): BoardCall {
  return async (scope, halfLife, batch) => {
    const stub = namespace.get(namespace.idFromName(scope) as never);
    const res = await stub.fetch(`${ORIGIN}/sync?halfLife=${halfLife}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: batch,
    });
    if (!res.ok) throw new Error(`popularity board answered ${res.status}: ${await res.text()}`);
    return hotListFromJson(await res.json());
  };
}

/** Wire form of a hot list (JSON: the lists are short, a few hundred entries). */
export interface HotListJson {
  weight: number;
  hashes: number[];
  shares: number[];
}

export function hotListToJson(l: HotList): HotListJson {
  return { weight: l.weight, hashes: Array.from(l.hashes), shares: Array.from(l.shares) };
}

export function hotListFromJson(j: unknown): HotList {
  const o = j as Partial<HotListJson>;
  if (typeof o?.weight !== 'number' || !Array.isArray(o.hashes) || !Array.isArray(o.shares) || o.hashes.length !== o.shares.length) {
    throw new Error('malformed hot list from the popularity board');
  }
  return { weight: o.weight, hashes: Int32Array.from(o.hashes), shares: Float32Array.from(o.shares) };
}
