// Requests that Node's HTTP parser accepts but the web-standard adapter cannot turn into a Request (a Host header
// that is not a host name, a request target that is not a URL) get kvroute's own OpenAI-style 400, on a real
// socket. Found by the HTTP fuzz suite (test/e2e/fuzz).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNodeRouter, type NodeRouter } from '../../../routes/node.ts';
import { MemoryTenantStore } from '../../../src/tenants/store.ts';
import { rawRequest } from '../fuzz/raw-http.ts';
import { openAiErrorProblem } from '../fuzz/judge.ts';

let router: NodeRouter;

beforeAll(async () => {
  router = await startNodeRouter({ store: new MemoryTenantStore(), probes: false, adminToken: 'malformed-admin-token' });
});

afterAll(async () => {
  await router?.close();
});

describe('requests the adapter cannot build a URL for', () => {
  it.each([
    ['a Host with a space', 'GET /health HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n'],
    ['a Host that is not ASCII', 'GET /v1/models HTTP/1.1\r\nHost: ü.example\r\nConnection: close\r\n\r\n'],
    ['a Host with a path', 'GET /health HTTP/1.1\r\nHost: x/y\r\nConnection: close\r\n\r\n'],
  ])('%s: 400 with an OpenAI error body', async (_, head) => {
    const o = await rawRequest({ port: router.port, pieces: [Buffer.from(head)], deadlineMs: 5_000 });
    expect(o.kind).toBe('answered');
    if (o.kind !== 'answered') return;
    expect(o.answer.status).toBe(400);
    expect(o.answer.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(o.answer.body.toString('utf8')) as { error: { code: string } };
    expect(openAiErrorProblem(body)).toBeNull();
    expect(body.error.code).toBe('invalid_request');
  });
});
