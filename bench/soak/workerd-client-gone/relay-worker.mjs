/* global IdentityTransformStream -- a workerd global */
// A Worker that relays an upstream's streamed body to its client, and logs how the stream ended for it:
// `complete` (the upstream finished), `cancel` (the runtime cancelled the body), `signal` (request.signal aborted)
// or `timer` (a timer in the same context, kept alive by waitUntil, noticed first). With TIMER_MS unset, no timer.
// With PIPE set, the body reaches the client through an IdentityTransformStream it is piped into; with WRITE set,
// its chunks are written into an IdentityTransformStream's writer (`closed` or a failed write ends it: `write`).
export default {
  async fetch(req, env, ctx) {
    const id = new URL(req.url).searchParams.get('id');
    const up = await fetch(`${env.UPSTREAM}/?id=${id}`);
    const reader = up.body.getReader();
    let ended = false;
    let done;
    ctx.waitUntil(new Promise((r) => (done = r)));
    const end = (how) => {
      if (ended) return;
      ended = true;
      console.log(`END ${id} ${how}`);
      reader.cancel().catch(() => {});
      done();
    };
    req.signal.addEventListener('abort', () => end('signal'));
    if (env.TIMER_MS) setTimeout(() => end('timer'), Number(env.TIMER_MS));
    const body = new ReadableStream({
      async pull(c) {
        const r = await reader.read();
        if (r.done) {
          c.close();
          end('complete');
        } else c.enqueue(r.value);
      },
      cancel: () => end('cancel'),
    });
    if (env.WRITE) {
      // WRITE: the chunks written into a native stream's writer (the alternative src/workers/client-body.ts turned down).
      const identity = new IdentityTransformStream();
      const writer = identity.writable.getWriter();
      writer.closed.catch(() => end('write'));
      void (async () => {
        try {
          for (let r = await reader.read(); !r.done; r = await reader.read()) await writer.write(r.value);
          await writer.close();
          end('complete');
        } catch {
          end('write');
        }
      })();
      return new Response(identity.readable, { headers: { 'content-type': 'text/event-stream' } });
    }
    if (!env.PIPE) return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    // PIPE: the body piped into a native stream, as kvroute's Worker does (src/workers/client-body.ts).
    const identity = new IdentityTransformStream();
    body.pipeTo(identity.writable).catch(() => end('pipe'));
    return new Response(identity.readable, { headers: { 'content-type': 'text/event-stream' } });
  },
};
