// The platform side of state shared between router instances (policies/shared-popularity.ts and
// policies/shared-placements.ts): per tenant pool, this isolate's views (popularity-board.ts), and the periodic
// exchange with that pool's board through a BoardCall (on Workers a Durable Object,
// src/workers/popularity-board-call.ts). The exchange runs off the request path, except a policy's lookup
// (policies/board-lookup.ts): a long prompt the policy would place blind waits for one exchange, at most
// lookupTimeoutMs.
import type { BoardLookup } from './policies/board-lookup.ts';
import { DEFAULT_POPULARITY_SYNC_MS } from './policies/shared-popularity.ts';
import { applyBoardAnswer, hasBoardRequest, newSharedViews, NOTHING, takeBoardRequest, type BoardAnswer, type BoardRequest, type SharedViews } from './popularity-board.ts';

export type BoardCall = (scope: string, halfLife: number, req: BoardRequest) => Promise<BoardAnswer>;

/** How long a request waits for a board lookup at most before it is placed on the view it has. */
export const DEFAULT_LOOKUP_TIMEOUT_MS = 50;

interface Scope extends SharedViews {
  halfLife: number;
  lastSync: number;
  /** The exchange in flight, if any (a lookup joins it rather than sending another). */
  inflight: Promise<void> | null;
  lookup: BoardLookup;
}

export class PopularityExchange {
  private readonly scopes = new Map<string, Scope>();
  private flushTimer: Promise<void> | null = null;

  constructor(
    private readonly call: BoardCall,
    private readonly syncMs = DEFAULT_POPULARITY_SYNC_MS,
    private readonly lookupTimeoutMs = DEFAULT_LOOKUP_TIMEOUT_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * The views for a tenant's pool, and their BoardLookup; the same objects across config versions, so what they
   * hold survives a reload.
   */
  viewsFor(tenantId: string, pool: string, halfLife: number): SharedViews & { lookup: BoardLookup } {
    const key = `${tenantId}/${pool}/${halfLife}`;
    let s = this.scopes.get(key);
    if (!s) {
      const scope: Scope = {
        ...newSharedViews(halfLife),
        halfLife,
        lastSync: -Infinity,
        inflight: null,
        lookup: { ageMs: (now) => now - scope.lastSync, refresh: (now, ask) => this.lookup(key, scope, now, ask) },
      };
      this.scopes.set(key, (s = scope));
    }
    return s;
  }

  private isDue(s: Scope, now: number, force = false): boolean {
    return s.inflight === null && hasBoardRequest(s) && (force || now - s.lastSync >= this.syncMs);
  }

  /** Whether some scope has something to send and its interval has passed. */
  due(now: number): boolean {
    for (const s of this.scopes.values()) if (this.isDue(s, now)) return true;
    return false;
  }

  private exchange(key: string, s: Scope, now: number, ask?: Int32Array): Promise<void> {
    s.lastSync = now;
    const p = this.call(key, s.halfLife, takeBoardRequest(s, ask))
      .then((a) => applyBoardAnswer(s, a))
      .finally(() => {
        s.inflight = null;
      });
    s.inflight = p;
    return p;
  }

  /**
   * Exchanges every due scope with its board (with `force`, every scope with something to send). A failed
   * exchange loses that batch; counting goes on.
   */
  async sync(now: number, force = false): Promise<void> {
    const work: Promise<void>[] = [];
    for (const [key, s] of this.scopes) if (this.isDue(s, now, force)) work.push(this.exchange(key, s, now));
    await Promise.allSettled(work);
  }

  /**
   * Syncs what is pending once its interval has passed, even if no request comes to trigger it: an isolate
   * that placed a conversation and then went quiet would otherwise keep that placement to itself. For
   * waitUntil; one timer at a time.
   */
  syncWhenDue(): Promise<void> | null {
    if (this.flushTimer) return null;
    let wait = Infinity;
    const now = this.now();
    for (const s of this.scopes.values()) if (hasBoardRequest(s)) wait = Math.min(wait, Math.max(0, s.lastSync + this.syncMs - now));
    if (wait === Infinity) return null;
    this.flushTimer = new Promise<void>((r) => setTimeout(r, wait))
      .then(() => this.sync(this.now(), true)) // (a timer may fire a hair before the interval by this clock)
      .finally(() => {
        this.flushTimer = null;
      });
    return this.flushTimer;
  }

  /**
   * A policy's lookup (BoardLookup.refresh): exchange now, asking about `ask`; or, with an exchange in flight,
   * join it (it brings everything placed up to its answer) and send the ask beside it, since only the board's
   * table knows what was placed before the log's horizon. Bounded, never rejects.
   */
  private lookup(key: string, s: Scope, now: number, ask?: Int32Array): Promise<void> {
    const p = (s.inflight ? this.joinWithAsk(key, s, s.inflight, ask) : this.exchange(key, s, now, ask)).catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<void>((r) => (timer = setTimeout(r, this.lookupTimeoutMs)));
    return Promise.race([p, bound]).finally(() => clearTimeout(timer));
  }

  /**
   * The exchange in flight, plus an ask-only request (nothing to hand over, a cursor past the log's end so no
   * delta) sent at once beside it. Its pairs are installed after the exchange's answer: they are the board's
   * newest for each asked key, so they must not be overwritten by an older entry of that answer's delta.
   */
  private joinWithAsk(key: string, s: Scope, inflight: Promise<void>, ask?: Int32Array): Promise<void> {
    if (!ask || ask.length === 0) return inflight;
    const asked = this.call(key, s.halfLife, { batch: NOTHING, placements: NOTHING, cursor: ASK_ONLY_CURSOR, ask });
    return Promise.allSettled([inflight, asked]).then(([, a]) => {
      if (a.status === 'fulfilled') s.placements.applyPairs(a.value.placements.pairs);
    });
  }
}

/** The cursor of an ask-only request: past any log's end, so the answer holds the asked keys and no delta. */
export const ASK_ONLY_CURSOR = Number.MAX_SAFE_INTEGER;
