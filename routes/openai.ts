// /v1/*: the OpenAI-compatible surface. HTTP only: adapt the request, call the core, shape the response.
import { Hono, type Context } from 'hono';
import { handleInference, type InferenceResult } from '../src/core/inference.ts';
import { inferenceEndpoints, type InferenceKind } from '../src/api/openai-api.ts';
import type { RuntimeTenant } from '../src/runtime-model/compile.ts';
import { errorResponse, errors } from '../src/api/errors.ts';
import type { Platform } from '../src/runtimes/platform.ts';
import type { ChunkSource } from '../src/stream/relay.ts';
import { readLimited } from './read-body.ts';

/** A web stream over a chunk source; `onEnd` is called once when it closes or is cancelled. */
export function streamOf(src: ChunkSource, onEnd: () => void = () => {}): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = await src.next();
      if (chunk) controller.enqueue(chunk);
      else {
        controller.close();
        onEnd();
      }
    },
    cancel() {
      src.cancel();
      onEnd();
    },
  });
}

/**
 * The response for a result. A stream is also handed to `defer` (waitUntil on Workers) until it ends: workerd
 * tears down a request's context when the client goes away, and with it the stream's timers and the abort event
 * that release the backend, unless the context is kept alive for work still pending.
 */
export function toResponse(r: InferenceResult, defer?: (p: Promise<unknown>) => void, clientBody?: Platform['clientBody']): Response {
  if ('body' in r) return new Response(r.body, { status: r.status, headers: r.headers });
  let ended!: () => void;
  if (defer) defer(new Promise<void>((resolve) => (ended = resolve)));
  const body = streamOf(r.stream, () => ended?.());
  return new Response(clientBody ? clientBody(body) : body, { status: r.status, headers: r.headers });
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
    const defer = deferOf(c, p);
    try {
      // Methods, not arrow properties: a named arrow costs a rename per request under the bundler's keepNames.
      const result = await handleInference(
        {
          kind,
          path: inferenceEndpoints[kind].path,
          header(n) {
            return c.req.header(n) ?? null;
          },
          readBody(limit, timeoutMs) {
            return readLimited(c.req.raw, limit, timeoutMs);
          },
          signal: c.req.raw.signal,
        },
        { directory: p.directory, states: p.states, client: p.client, now: p.now, defer, onRecord: p.hooks?.onRecord, emit: p.hooks?.emit, shadowLimiter: p.hooks?.shadowLimiter },
      );
      return toResponse(result, defer, p.clientBody);
    } catch (err) {
      return errorResponse(err);
    }
  };
  for (const [kind, endpoint] of Object.entries(inferenceEndpoints)) app.post(endpoint.path.slice('/v1'.length), run(kind as InferenceKind));
  app.get('/models', async (c) => {
    try {
      const { tenant } = await p.directory.authenticate(c.req.header('authorization') ?? null);
      return new Response(tenant.modelsJson, { headers: { 'content-type': 'application/json' } });
    } catch (err) {
      return errorResponse(err);
    }
  });
  // models.retrieve; model names may hold slashes (`meta-llama/Llama-3.1-8B`), so the id is the rest of the path.
  app.get('/models/:id{.+}', async (c) => {
    try {
      const { tenant } = await p.directory.authenticate(c.req.header('authorization') ?? null);
      const id = c.req.param('id');
      const card = modelCards(tenant).get(id);
      if (!card) throw errors.unknownModel(id);
      return new Response(card, { headers: { 'content-type': 'application/json' } });
    } catch (err) {
      return errorResponse(err);
    }
  });
  return app;
}

/** One model's `GET /v1/models/{id}` body, from the tenant's compiled model list (the one source of the cards). */
const cardsByTenant = new WeakMap<RuntimeTenant, Map<string, string>>();
function modelCards(tenant: RuntimeTenant): Map<string, string> {
  let cards = cardsByTenant.get(tenant);
  if (!cards) {
    const list = JSON.parse(tenant.modelsJson) as { data: { id: string }[] };
    cards = new Map(list.data.map((m) => [m.id, JSON.stringify(m)]));
    cardsByTenant.set(tenant, cards);
  }
  return cards;
}
