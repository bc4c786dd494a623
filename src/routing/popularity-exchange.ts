// The platform side of state shared between router instances (policies/shared-popularity.ts and
// policies/shared-placements.ts): per tenant pool, this isolate's views, and the periodic exchange with that
// pool's board. The board lives in a Durable Object on Workers (popularity-board-do.ts). The exchange runs off
// the request path, except a policy's lookup (policies/board-lookup.ts): a long prompt the policy would place
// blind waits for one exchange, at most lookupTimeoutMs.
import type { DurableObjectNamespaceLike } from '../drift/durable-object.ts';
import type { BoardLookup } from './policies/board-lookup.ts';
import type { HotList } from './policies/prefix-popularity.ts';
import { type PlacementDelta, PlacementLog, PlacementTable, PlacementView } from './policies/shared-placements.ts';
import { DEFAULT_POPULARITY_SYNC_MS, PopularityBoard, SharedPopularity } from './policies/shared-popularity.ts';

/**
 * What an instance sends: its popularity batch, its placements since the last sync, its log cursor, and (a
 * lookup) the keys it wants to know the placement of, whenever they were placed.
 */
export interface BoardRequest {
  batch: Int32Array;
  placements: Int32Array;
  cursor: number;
  ask: Int32Array;
}

/** What the board answers: the hot list, and where the asked keys went followed by everyone's placements since the cursor. */
export interface BoardAnswer {
  hot: HotList;
  placements: PlacementDelta;
}

export type BoardCall = (scope: string, halfLife: number, req: BoardRequest) => Promise<BoardAnswer>;

/** One tenant pool's board: popularity and the placement log (held by a Durable Object, or by the lab). */
export class PoolBoard {
  private readonly popularity: PopularityBoard;
  private readonly log: PlacementLog;
  private readonly table: PlacementTable;
  constructor(readonly halfLife: number, sizes: { logCapacity?: number; tableSlots?: number } = {}) {
    this.popularity = new PopularityBoard(halfLife);
    this.log = new PlacementLog(sizes.logCapacity);
    this.table = new PlacementTable(sizes.tableSlots);
  }

  /**
   * Takes an instance's batch and placements; answers the hot list, then the asked keys' placements followed by
   * everyone's since its cursor (so a newer entry in the delta overrides an asked one when applied in order).
   */
  exchange(req: BoardRequest): BoardAnswer {
    this.popularity.ingest(req.batch);
    this.log.append(req.placements);
    this.table.setAll(req.placements);
    return { hot: this.popularity.hotList(), placements: this.placementsFor(req) };
  }

  private placementsFor(req: BoardRequest): PlacementDelta {
    const delta = this.log.since(req.cursor);
    if (req.ask.length === 0) return delta;
    const asked = this.table.lookup(req.ask);
    const pairs = new Int32Array(asked.length + delta.pairs.length);
    pairs.set(asked);
    pairs.set(delta.pairs, asked.length);
    return { cursor: delta.cursor, pairs };
  }
}

/** One tenant pool's shared state in this instance. */
export interface SharedViews {
  popularity: SharedPopularity;
  placements: PlacementView;
}

export function newSharedViews(halfLife: number): SharedViews {
  return { popularity: new SharedPopularity(halfLife), placements: new PlacementView() };
}

/** Whether `views` has anything to send to its board. */
export function hasBoardRequest(views: SharedViews): boolean {
  return views.popularity.pendingRequests > 0 || views.placements.pending > 0;
}

/** What `views` has to send since the last exchange (taking it out of the views), and the keys a lookup asks about. */
export function takeBoardRequest(views: SharedViews, ask: Int32Array = NOTHING): BoardRequest {
  const { pairs, cursor } = views.placements.take();
  return { batch: views.popularity.takeBatch(), placements: pairs, cursor, ask };
}

const NOTHING = new Int32Array(0);

/** Installs a board's answer into `views`. */
export function applyBoardAnswer(views: SharedViews, a: BoardAnswer): void {
  views.popularity.applyHotList(a.hot);
  views.placements.apply(a.placements);
}

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

const ORIGIN = 'https://popularity-board';

/** Request body: [batch length, ...batch, placements length, ...placements, ask length, ...ask] as one Int32Array. */
export function encodeBoardRequest(req: BoardRequest): Int32Array {
  const nb = req.batch.length;
  const np = req.placements.length;
  const out = new Int32Array(3 + nb + np + req.ask.length);
  out[0] = nb;
  out.set(req.batch, 1);
  out[1 + nb] = np;
  out.set(req.placements, 2 + nb);
  out[2 + nb + np] = req.ask.length;
  out.set(req.ask, 3 + nb + np);
  return out;
}

/** Reads a request body (the ask section may be left out); a string says what is malformed. */
export function decodeBoardRequest(body: Int32Array, cursor: number): BoardRequest | string {
  if (body.length === 0) return { batch: NOTHING, placements: NOTHING, cursor, ask: NOTHING };
  const nb = body[0]!;
  if (nb < 0 || 2 + nb > body.length) return 'malformed batch length';
  const np = body[1 + nb]!;
  if (np < 0 || np % 2 !== 0 || 2 + nb + np > body.length) return 'malformed placements length';
  const batch = body.subarray(1, 1 + nb);
  const placements = body.subarray(2 + nb, 2 + nb + np);
  if (2 + nb + np === body.length) return { batch, placements, cursor, ask: NOTHING };
  const na = body[2 + nb + np]!;
  if (na < 0 || 3 + nb + np + na !== body.length) return 'malformed ask length';
  return { batch, placements, cursor, ask: body.subarray(3 + nb + np) };
}

/** A BoardCall through a Durable Object namespace (one object per scope). */
export function durableBoardCall(namespace: DurableObjectNamespaceLike): BoardCall {
  return async (scope, halfLife, req) => {
    const stub = namespace.get(namespace.idFromName(scope) as never);
    const res = await stub.fetch(`${ORIGIN}/sync?halfLife=${halfLife}&cursor=${req.cursor}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: encodeBoardRequest(req),
    });
    if (!res.ok) throw new Error(`popularity board answered ${res.status}: ${await res.text()}`);
    return decodeBoardAnswer(await res.arrayBuffer());
  };
}

/**
 * Wire form of an answer, binary like the request: a header of five float64s (format version, weight, cursor,
 * hot entries, placement ints), then the hot hashes (int32), their shares (float32) and the placement pairs
 * (int32). A new isolate asks from cursor 0 and gets the whole placement log, up to 65,536 pairs: ~0.5 MB this
 * way against ~1.4 MB of JSON, and no number parsing, so its first lookup fits in the lookup's bound
 * (bench/board-wire.ts).
 */
const ANSWER_VERSION = 1;
const HEADER_WORDS = 5;

export function encodeBoardAnswer(a: BoardAnswer): ArrayBuffer {
  const nHot = a.hot.hashes.length;
  const nPairs = a.placements.pairs.length;
  const buf = new ArrayBuffer(8 * HEADER_WORDS + 4 * (2 * nHot + nPairs));
  new Float64Array(buf, 0, HEADER_WORDS).set([ANSWER_VERSION, a.hot.weight, a.placements.cursor, nHot, nPairs]);
  let at = 8 * HEADER_WORDS;
  new Int32Array(buf, at, nHot).set(a.hot.hashes);
  new Float32Array(buf, (at += 4 * nHot), nHot).set(a.hot.shares);
  new Int32Array(buf, at + 4 * nHot, nPairs).set(a.placements.pairs);
  return buf;
}

/** Reads an answer; throws on anything that is not one (a board of another version, a truncated body). */
export function decodeBoardAnswer(buf: ArrayBuffer): BoardAnswer {
  const malformed = (why: string) => new Error(`malformed answer from the popularity board: ${why}`);
  if (buf.byteLength < 8 * HEADER_WORDS) throw malformed(`${buf.byteLength} bytes, shorter than its header`);
  const [version, weight, cursor, nHot, nPairs] = new Float64Array(buf, 0, HEADER_WORDS);
  if (version !== ANSWER_VERSION) throw malformed(`format version ${version}, expected ${ANSWER_VERSION}`);
  if (!Number.isFinite(weight) || !Number.isSafeInteger(cursor) || !Number.isSafeInteger(nHot) || !Number.isSafeInteger(nPairs)
    || nHot! < 0 || nPairs! < 0 || nPairs! % 2 !== 0 || buf.byteLength !== 8 * HEADER_WORDS + 4 * (2 * nHot! + nPairs!)) {
    throw malformed('header does not match the body');
  }
  let at = 8 * HEADER_WORDS;
  const hashes = new Int32Array(buf, at, nHot);
  const shares = new Float32Array(buf, (at += 4 * nHot!), nHot);
  const pairs = new Int32Array(buf, at + 4 * nHot!, nPairs);
  return { hot: { weight: weight!, hashes, shares }, placements: { cursor: cursor!, pairs } };
}
