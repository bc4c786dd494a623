// The popularity exchange's transport on Workers: a BoardCall that calls the tenant pool's board Durable Object
// (popularity-board-durable-object.ts) through Workers RPC.
import type { BoardCall } from '../routing/popularity-exchange.ts';
import { issueSuffix } from '../util/parse-stored.ts';
import { boardAnswerSchema, type BoardRpc } from './popularity-board-rpc.ts';

/** A BoardCall to one board per scope (`boardOf(scope)` is its stub). */
export function durableBoardCall(boardOf: (scope: string) => BoardRpc): BoardCall {
  return async (scope, halfLife, req) => {
    const answer = boardAnswerSchema.safeParse(await boardOf(scope).sync(halfLife, req));
    if (!answer.success) throw new Error(`malformed answer from the popularity board${issueSuffix(answer.error)}`);
    return answer.data;
  };
}
