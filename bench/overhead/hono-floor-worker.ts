// The floor for a Worker router: a minimal Hono app on workerd that forwards the inference route to the
// upstream with fetch, with no auth, config or routing. It is a reference target for bench/overhead ("what do
// workerd, fetch and Hono themselves cost on this machine, in the same run"), the Worker's counterpart of
// node-floor.ts. The upstream's origin comes from the UPSTREAM text binding. With the BUFFER binding set, a JSON
// answer is read whole and answered from the text, as node-floor does and as any router that reads usage from it
// must (hono-floor-workerd-buffered); without it, the upstream's body is passed through untouched.
import { Hono } from 'hono';

const app = new Hono<{ Bindings: { UPSTREAM: string; BUFFER?: string } }>();

app.post('/v1/chat/completions', async (c) => {
  // Small JSON bodies are buffered (as kvroute and node-floor do).
  const body = await c.req.text();
  const up = await fetch(`${c.env.UPSTREAM}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: c.req.header('authorization') ?? '' },
    body,
  });
  const contentType = up.headers.get('content-type') ?? 'application/json';
  const answer = c.env.BUFFER && !contentType.startsWith('text/event-stream') ? await up.text() : up.body;
  return new Response(answer, { status: up.status, headers: { 'content-type': contentType } });
});

export default app;
