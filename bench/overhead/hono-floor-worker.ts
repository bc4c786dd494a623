// The floor for a Worker router: a minimal Hono app on workerd that forwards the inference route to the
// upstream with fetch, with no auth, config or routing. It is a reference target for bench/overhead ("what do
// workerd, fetch and Hono themselves cost on this machine, in the same run"), the Worker's counterpart of
// node-floor.ts. The upstream's origin comes from the UPSTREAM text binding.
import { Hono } from 'hono';

const app = new Hono<{ Bindings: { UPSTREAM: string } }>();

app.post('/v1/chat/completions', async (c) => {
  // Small JSON bodies are buffered (as kvroute and node-floor do); the response body is passed through as is.
  const body = await c.req.text();
  const up = await fetch(`${c.env.UPSTREAM}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: c.req.header('authorization') ?? '' },
    body,
  });
  return new Response(up.body, { status: up.status, headers: { 'content-type': up.headers.get('content-type') ?? 'application/json' } });
});

export default app;
