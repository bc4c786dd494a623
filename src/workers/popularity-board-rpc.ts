// What crosses between an isolate and its tenant pool's popularity board (popularity-board-durable-object.ts):
// the board's RPC method and the schemas both sides check. Workers RPC carries the typed arrays as they are
// (structured clone copies their bytes), so there is no codec: a new isolate's first sync (the whole placement log,
// up to 65,536 pairs) is about 0.5 MB either way (bench/board-transport.ts).
import { z } from 'zod';
import type { BoardAnswer, BoardRequest } from '../routing/popularity-board.ts';

export interface BoardRpc {
  /** Takes an isolate's batch and placements since `req.cursor`; answers the hot list and the placements it lacks. */
  sync(halfLife: number, req: BoardRequest): Promise<BoardAnswer>;
}

/** The most int32s one request may carry (4 MiB). */
const MAX_REQUEST_INTS = 1024 * 1024;

const int32s = z.instanceof(Int32Array);
const pairs = int32s.refine((p) => p.length % 2 === 0, 'placements come in (key, backend) pairs');

/** A sync's arguments, as the board checks them: they come from another isolate, maybe of another version. */
export const boardSyncSchema = z.object({
  halfLife: z.number().int('halfLife must be an integer >= 8').min(8, 'halfLife must be an integer >= 8'),
  req: z
    .object({ batch: int32s, placements: pairs, cursor: z.number().int('cursor must be a non-negative integer').nonnegative('cursor must be a non-negative integer'), ask: int32s })
    .refine((r) => r.batch.length + r.placements.length + r.ask.length <= MAX_REQUEST_INTS, `a request carries at most ${MAX_REQUEST_INTS} int32s`),
});

/** A board's answer, as the isolate checks it before installing it into its views. */
export const boardAnswerSchema: z.ZodType<BoardAnswer> = z.object({
  hot: z
    .object({ weight: z.number(), hashes: int32s, shares: z.instanceof(Float32Array) })
    .refine((h) => h.hashes.length === h.shares.length, 'one share per hot hash'),
  placements: z.object({ cursor: z.number().int(), pairs }),
});
