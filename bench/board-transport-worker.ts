// The Worker that bench/board-transport.ts runs in workerd: one board Durable Object that hands the same answer
// back three ways, and a fetch handler that asks it `rounds` times in a row in the form asked for.
//   rpc          Workers RPC with the typed arrays as they are (structured clone): the form in use
//   rpc-binary   Workers RPC with the answer packed into one ArrayBuffer (what a codec would add over RPC)
//   fetch-binary stub.fetch with the packed answer as the body: the transport RPC replaced
import { DurableObject } from 'cloudflare:workers';
import type { BoardAnswer } from '../src/routing/popularity-board.ts';
import { fmix32 } from '../src/util/hash.ts';
import { boardAnswerSchema } from '../src/workers/popularity-board-rpc.ts';

const HOT = 300;

function answerOf(pairs: number): BoardAnswer {
  const p = new Int32Array(2 * pairs);
  for (let i = 0; i < p.length; i++) p[i] = fmix32(i + 1) | 0;
  const hashes = new Int32Array(HOT);
  const shares = new Float32Array(HOT);
  for (let i = 0; i < HOT; i++) {
    hashes[i] = fmix32(i + 0x5bd1e995) | 0;
    shares[i] = 0.5 / (i + 1);
  }
  return { hot: { weight: 1477.3, hashes, shares }, placements: { cursor: 1_000_000 + pairs, pairs: p } };
}

/** The packed form the fetch transport used: a header of three float64s, then hashes, shares and pairs. */
function pack(a: BoardAnswer): ArrayBuffer {
  const nHot = a.hot.hashes.length;
  const buf = new ArrayBuffer(24 + 4 * (2 * nHot + a.placements.pairs.length));
  new Float64Array(buf, 0, 3).set([a.hot.weight, a.placements.cursor, nHot]);
  new Int32Array(buf, 24, nHot).set(a.hot.hashes);
  new Float32Array(buf, 24 + 4 * nHot, nHot).set(a.hot.shares);
  new Int32Array(buf, 24 + 8 * nHot).set(a.placements.pairs);
  return buf;
}

function unpack(buf: ArrayBuffer): BoardAnswer {
  const [weight, cursor, nHot] = new Float64Array(buf, 0, 3) as unknown as [number, number, number];
  return {
    hot: { weight, hashes: new Int32Array(buf, 24, nHot), shares: new Float32Array(buf, 24 + 4 * nHot, nHot) },
    placements: { cursor, pairs: new Int32Array(buf, 24 + 8 * nHot) },
  };
}

export class Board extends DurableObject {
  private readonly answers = new Map<number, BoardAnswer>();
  private answer(pairs: number): BoardAnswer {
    let a = this.answers.get(pairs);
    if (!a) this.answers.set(pairs, (a = answerOf(pairs)));
    return a;
  }
  async typed(pairs: number): Promise<BoardAnswer> {
    return this.answer(pairs);
  }
  async packed(pairs: number): Promise<ArrayBuffer> {
    return pack(this.answer(pairs));
  }
  override async fetch(req: Request): Promise<Response> {
    return new Response(pack(this.answer(Number(new URL(req.url).searchParams.get('pairs')))));
  }
}

interface Env {
  BOARD: DurableObjectNamespace<Board>;
}

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    const q = new URL(req.url).searchParams;
    const pairs = Number(q.get('pairs'));
    const rounds = Number(q.get('rounds'));
    const stub = env.BOARD.get(env.BOARD.idFromName('board'));
    let got = 0;
    for (let r = 0; r < rounds; r++) {
      // Every form ends the same way: the answer checked as the isolate checks it (durableBoardCall).
      const a =
        q.get('form') === 'rpc'
          ? ((await stub.typed(pairs)) as BoardAnswer)
          : q.get('form') === 'rpc-binary'
            ? unpack(await stub.packed(pairs))
            : unpack(await (await stub.fetch(`https://board/?pairs=${pairs}`)).arrayBuffer());
      got += boardAnswerSchema.parse(a).placements.pairs.length;
    }
    return Response.json({ pairs: got / rounds / 2 });
  },
};
