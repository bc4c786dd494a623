// The popularity board's wire format between an isolate and its Durable Object: binary both ways, so a new
// isolate's first sync (the whole placement log) is small and needs no number parsing.
import { NOTHING, type BoardAnswer, type BoardRequest } from '../routing/popularity-board.ts';

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
