// How a streamed response body reaches the client on workerd. When a client leaves in the middle of a stream,
// workerd tells a JavaScript-backed body nothing: no cancel() and, most of the time, no abort on request.signal
// (reproduced on plain workerd by bench/soak/workerd-client-gone). It does fail a native stream's writer. So the
// body is piped into an IdentityTransformStream, whose readable side goes to the client: the pipe cancels the
// JavaScript body as soon as the client is gone, and the stream ends as a client abort then, instead of holding
// its backend lease, its request's I/O context and their buffers until the client-read timeout. The identity
// stream holds no chunk of its own (a write completes when the client's side has taken it), so backpressure and
// the relay's client-read timer work as before.
// Not written into the identity stream's writer directly: that saved about 8% of a stream's CPU, but in
// `node bench/soak/workerd-client-gone/run.mjs 50 4 --write` every departed client left a pending write that
// workerd logged as a hung request, and in one run 10 of 200 departures went unheard; `--pipe` heard all 200.

/** The client-facing body for a stream the Worker produces; errors of the pipe show as the body's cancel(). */
export function nativeClientBody(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const identity = new IdentityTransformStream();
  body.pipeTo(identity.writable).catch(() => {}); // a departed client: the pipe has cancelled `body`, which ends the stream
  return identity.readable;
}
