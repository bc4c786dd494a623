// The Durable Object that holds one tenant pool's shared routing state: the prefix-popularity board
// (src/routing/policies/shared-popularity.ts) and the placement log (shared-placements.ts). Isolates POST what they routed every
// couple of seconds and get the hot list and everyone's new placements back (binary both ways,
// popularity-wire.ts). State is soft and in memory: after an eviction the board relearns within a few sync
// intervals, and until then each isolate falls back to its own counts and to rendezvous hashing.
import { DEFAULT_POPULARITY_HALF_LIFE } from '../routing/policies/prefix-popularity.ts';
import { type BoardRequest, PoolBoard } from '../routing/popularity-board.ts';
import { decodeBoardRequest, encodeBoardAnswer } from './popularity-wire.ts';

const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Export this class from the Worker entry and bind it as POPULARITY (wrangler.toml). */
export class PopularityBoardDurableObject {
  private board: PoolBoard | undefined;

  constructor(_ctx?: unknown, _env?: unknown) {}

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== '/sync' || (request.method !== 'POST' && request.method !== 'GET')) {
      return Response.json({ error: 'use POST /sync (body: Int32Array [n, batch..., m, placements..., k, ask...]) or GET /sync' }, { status: 404 });
    }
    const halfLife = Number(url.searchParams.get('halfLife') ?? DEFAULT_POPULARITY_HALF_LIFE);
    if (!Number.isInteger(halfLife) || halfLife < 8) return Response.json({ error: 'halfLife must be an integer >= 8' }, { status: 400 });
    const cursor = Number(url.searchParams.get('cursor') ?? 0);
    if (!Number.isSafeInteger(cursor) || cursor < 0) return Response.json({ error: 'cursor must be a non-negative integer' }, { status: 400 });
    if (!this.board || halfLife !== this.board.halfLife) this.board = new PoolBoard(halfLife);
    let req: BoardRequest = { batch: new Int32Array(0), placements: new Int32Array(0), cursor, ask: new Int32Array(0) };
    if (request.method === 'POST') {
      const bytes = await request.arrayBuffer();
      if (bytes.byteLength % 4 !== 0 || bytes.byteLength > MAX_BODY_BYTES) {
        return Response.json({ error: `body must be an Int32Array of at most ${MAX_BODY_BYTES} bytes` }, { status: 400 });
      }
      const decoded = decodeBoardRequest(new Int32Array(bytes), cursor);
      if (typeof decoded === 'string') return Response.json({ error: decoded }, { status: 400 });
      req = decoded;
    }
    return new Response(encodeBoardAnswer(this.board.exchange(req)), { headers: { 'content-type': 'application/octet-stream' } });
  }
}
