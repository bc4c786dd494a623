// The state a tenant pool's router instances share (policies/shared-popularity.ts, policies/shared-placements.ts):
// the board that merges what every instance routed (PoolBoard, held by a Durable Object on Workers,
// src/workers/popularity-board-durable-object.ts, or by the lab), what an instance sends it and what it answers,
// and an instance's own views. Pure: the exchange that moves requests and answers is popularity-exchange.ts.
import type { HotList } from './policies/prefix-popularity.ts';
import { type PlacementDelta, PlacementLog, PlacementTable, PlacementView } from './policies/shared-placements.ts';
import { PopularityBoard, SharedPopularity } from './policies/shared-popularity.ts';

/** An empty section (no batch, no placements, nothing asked). */
export const NOTHING = new Int32Array(0);

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

/** Installs a board's answer into `views`. */
export function applyBoardAnswer(views: SharedViews, a: BoardAnswer): void {
  views.popularity.applyHotList(a.hot);
  views.placements.apply(a.placements);
}
