/**
 * The error a Workers RPC call rejects with (undefined when it resolves). Tests read an RPC promise this way rather
 * than through expect(...).rejects: a matcher reads properties of the promise, and on an RPC promise each of those
 * is a pipelined call that rejects too, unhandled.
 */
export const rejectionOf = (call: Promise<unknown>): Promise<Error | undefined> =>
  call.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
