// /v1/*: the OpenAI-compatible surface. HTTP only: adapt the request, call the core, shape the response.
import { Hono, type Context } from 'hono';
import { handleInference, type InferenceResult } from '../src/core/inference.ts';
import type { InferenceKind } from '../src/config/openai-api.ts';
import { errors } from '../src/errors.ts';
import type { Platform } from '../src/platform.ts';
import type { ChunkSource } from '../src/stream/relay.ts';
import { errorResponse } from './errors.ts';
import { readLimited } from './read-body.ts';

export function streamOf(src: ChunkSource): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = await src.next();
      if (chunk) controller.enqueue(chunk);
      else controller.close();
    },
    cancel() {
      src.cancel();
    },
  });
}

export function toResponse(r: InferenceResult): Response {
  return 'body' in r ? new Response(r.body, { status: r.status, headers: r.headers }) : new Response(streamOf(r.stream), { status: r.status, headers: r.headers });
}

function deferOf(c: Context, p: Platform): (x: Promise<unknown>) => void {
  try {
    const ctx = c.executionCtx;
    return (x) => ctx.waitUntil(x);
  } catch {
    return p.defer;
  }
}

export function openaiRoutes(p: Platform): Hono {
  const app = new Hono();
  const run = (kind: InferenceKind) => async (c: Context) => {
    try {
      const result = await handleInference(
        {
          kind,
          path: kind === 'chat' ? '/v1/chat/completions' : '/v1/completions',
          header: (n) => c.req.header(n) ?? null,
          readBody: (limit, timeoutMs) => readLimited(c.req.raw, limit, timeoutMs),
          signal: c.req.raw.signal,
        },
        { directory: p.directory, states: p.states, client: p.client, now: p.now, defer: deferOf(c, p), ...p.hooks },
      );
      return toResponse(result);
    } catch (err) {
      return errorResponse(err);
    }
  };
  app.post('/chat/completions', run('chat'));
  app.post('/completions', run('completions'));
  app.get('/models', async (c) => {
    try {
      const { tenant } = await p.directory.authenticate(c.req.header('authorization') ?? null);
      return new Response(tenant.modelsJson, { headers: { 'content-type': 'application/json' } });
    } catch (err) {
      return errorResponse(err);
    }
  });
  return app;
}
