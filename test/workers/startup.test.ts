// Start-up of the Worker in workerd: a failed start answers with an OpenAI-style 503 and is not cached, so the
// isolate recovers on the next request instead of failing until it is recycled.
import { env, createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../../routes/worker.ts';
import { errorOf } from '../helpers/responses.ts';

async function call(e: typeof env, path: string): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://kvroute${path}`), e, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe('Worker start-up', () => {
  it('answers 503 JSON while the start fails, and serves once the cause is gone', async () => {
    const broken = { ...env, KVROUTE_STATIC_CONFIG: '{ not json' };
    for (let i = 0; i < 2; i++) {
      const r = await call(broken, '/health');
      expect(r.status).toBe(503);
      const error = await errorOf(r);
      expect(error.code).toBe('router_starting');
      expect(error.message).toContain('could not start');
    }
    const ok = await call(env, '/health');
    expect(ok.status).toBe(200);
  });
});
