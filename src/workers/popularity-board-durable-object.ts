// The Durable Object that holds one tenant pool's shared routing state: the prefix-popularity board
// (src/routing/policies/shared-popularity.ts) and the placement log (shared-placements.ts). Isolates call sync()
// through Workers RPC every couple of seconds with what they routed, and get the hot list and everyone's new
// placements back (typed arrays both ways, popularity-board-rpc.ts). State is soft and in memory: after an
// eviction the board relearns within a few sync intervals, and until then each isolate falls back to its own
// counts and to rendezvous hashing.
import { DurableObject } from 'cloudflare:workers';
import { type BoardAnswer, type BoardRequest, PoolBoard } from '../routing/popularity-board.ts';
import { parseArgument } from '../util/parse-stored.ts';
import { boardSyncSchema, type BoardRpc } from './popularity-board-rpc.ts';

/** Export this class from the Worker entry and bind it as POPULARITY (wrangler.toml). */
export class PopularityBoardDurableObject extends DurableObject implements BoardRpc {
  private board: PoolBoard | undefined;

  async sync(halfLife: number, req: BoardRequest): Promise<BoardAnswer> {
    const args = parseArgument('popularity board sync', boardSyncSchema, { halfLife, req });
    if (!this.board || halfLife !== this.board.halfLife) this.board = new PoolBoard(halfLife);
    return this.board.exchange(args.req);
  }
}
