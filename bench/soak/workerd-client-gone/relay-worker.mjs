/* global IdentityTransformStream -- a workerd global */
// A Worker that relays an upstream's streamed body to its client, and logs how the stream ended for it:
// `complete` (the upstream finished), `cancel` (the runtime cancelled the body), `signal` (request.signal aborted)
// or `timer` (a timer in the same context, kept alive by waitUntil, noticed first). With TIMER_MS unset, no timer.
// With PIPE set, the body reaches the client through an IdentityTransformStream.
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
    if (!env.PIPE) return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    // PIPE: the body piped into a native stream, as kvroute's Worker does (src/workers/client-body.ts).
    const identity = new IdentityTransformStream();
    body.pipeTo(identity.writable).catch(() => end('pipe'));
    return new Response(identity.readable, { headers: { 'content-type': 'text/event-stream' } });
  },
};
