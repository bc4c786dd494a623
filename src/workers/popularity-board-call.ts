// The popularity exchange's transport on Workers: a BoardCall that posts to the tenant pool's board Durable Object
// (popularity-board-durable-object.ts) in the wire format of popularity-wire.ts.
import type { BoardCall } from '../routing/popularity-exchange.ts';
import type { DurableObjectNamespaceLike } from './drift-durable-object.ts';
import { decodeBoardAnswer, encodeBoardRequest } from './popularity-wire.ts';

const ORIGIN = 'https://popularity-board';

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
