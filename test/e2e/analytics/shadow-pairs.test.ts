// Shadow flow over real sockets into a real ClickHouse: N shadowed requests give exactly N paired records; a
// shadow backend that is down or stalls leaves the primary untouched and the record says what happened.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newEventId, type AnalyticsEvent } from '../../../src/analytics/event.ts';
import { EVENTS_TABLE, migrateClickHouse } from '../../../src/analytics/migrations.ts';
import { ClickHouseSink, createClickHouseClient } from '../../../src/analytics/sinks/clickhouse.ts';
import { NodeEventBuffer } from '../../../src/analytics/delivery/node-buffer.ts';
import { CompletionStreamObserver } from '../../../src/stream/sse.ts';
import { legFromSummary, type LegOutcome } from '../../../src/experiments/shadow/leg.ts';
import { ShadowLimiter } from '../../../src/experiments/shadow/limiter.ts';
import { runShadowFlow } from '../../../src/experiments/shadow/orchestrate.ts';
import { SHADOW_HEADER, type ShadowSender } from '../../../src/experiments/shadow/run.ts';
import { dropDatabase, freePort, testDatabase, useClickHouse } from './clickhouse-server.ts';
import { bodyReader } from '../../helpers/responses.ts';

/** A minimal fetch-based sender with the UpstreamClient shape (the router passes its own client). */
const fetchSender: ShadowSender = {
  async send(req) {
    const res = await fetch(req.baseUrl + req.path, { method: req.method, headers: req.headers, body: req.body, signal: req.signal });
    const reader = bodyReader(res);
    return { status: res.status, header: (n) => res.headers.get(n), body: { read: async () => { const r = await reader.read(); return r.done ? null : r.value; }, cancel: () => void reader.cancel().catch(() => {}) } };
  },
};

function sse(res: ServerResponse, words: string[], finish = 'stop') {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const w of words) res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: w }, finish_reason: null }] })}\n\n`);
  res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: finish }], usage: { prompt_tokens: 9, completion_tokens: words.length } })}\n\n`);
  res.end('data: [DONE]\n\n');
}

const servers: Server[] = [];
const sockets = new Set<Socket>();
const shadowHeadersSeen: string[] = [];
async function listen(handler: (res: ServerResponse, headers: Record<string, string | string[] | undefined>) => void): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handler(res, req.headers));
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

let ch: { url: string; release(): void };
const database = testDatabase('kvr_shadow');
let client: ReturnType<typeof createClickHouseClient>;
let spool: string;
let primaryUrl: string;
let shadowUrl: string;
let stallUrl: string;
let downUrl: string;

beforeAll(async () => {
  ch = await useClickHouse();
  client = createClickHouseClient({ url: ch.url });
  await migrateClickHouse(client, database);
  spool = mkdtempSync(join(tmpdir(), 'kvr-shadow-spool-'));
  primaryUrl = await listen((res) => sse(res, ['Hello', ' world', ' again']));
  shadowUrl = await listen((res, h) => { shadowHeadersSeen.push(String(h[SHADOW_HEADER])); sse(res, ['Hello', ' there', ' world'], 'length'); });
  stallUrl = await listen((res) => { res.writeHead(200, { 'content-type': 'text/event-stream' }); res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'Hel' } }] })}\n\n`); });
  downUrl = `http://127.0.0.1:${await freePort()}`;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await dropDatabase(ch.url, database).catch(() => {});
  await client?.close();
  ch?.release();
  if (spool) rmSync(spool, { recursive: true, force: true });
});

/** The primary leg as the router would observe it through its stream tap. */
async function primaryLeg(requestBody: string): Promise<LegOutcome> {
  const startedAt = performance.now();
  const res = await fetchSender.send({ baseUrl: primaryUrl, path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' }, body: requestBody, signal: new AbortController().signal, connectTimeoutMs: 1000 });
  const obs = new CompletionStreamObserver({ startedAt, collectText: true });
  for (let c = await res.body.read(); c; c = await res.body.read()) obs.push(c, performance.now());
  const endedAt = performance.now();
  return legFromSummary({ pool: 'main', backend: 'p1', upstreamModel: 'main-model', status: res.status, startedAt, endedAt, stream: true, summary: obs.end(endedAt) });
}

async function runRequests(tenant: string, n: number, shadowBase: string, timeoutMs: number, buffer: NodeEventBuffer): Promise<LegOutcome[]> {
  const limiter = new ShadowLimiter();
  const emit = (events: AnalyticsEvent[]) => buffer.enqueue(events);
  const body = { model: 'public', stream: true, messages: [{ role: 'user', content: 'hi' }] };
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const requestId = `${tenant}-req-${i}`;
      const primary = primaryLeg(JSON.stringify(body));
      const shadow = runShadowFlow(
        { send: fetchSender.send, now: () => performance.now(), limiter, emit },
        {
          plan: { shadow: true, noiseFloor: false }, tenant, requestId, correlationId: requestId, model: 'public', experiment: 'exp', arm: 'control',
          path: '/v1/chat/completions', body, reserveTokens: 100, limits: { maxConcurrent: n, dailyTokenBudget: 1e9, timeoutMs },
          shadowTarget: { pool: 'cand', backendId: 's1', baseUrl: shadowBase, upstreamModel: 'cand-model' }, shadowPool: 'cand', shadowModel: 'cand-model',
          shadowHeaders: {}, noiseTarget: null, primary,
        },
      );
      const outcome = await primary; // what the client got: never waits for the shadow
      buffer.enqueue([{ type: 'request', event_id: newEventId(), ts: Date.now(), tenant, request_id: requestId, correlation_id: requestId, model: 'public', experiment: 'exp', arm: 'control', stream: true, decision: '', router_overhead_ms: null, shadowed: true, ...outcome.leg }]);
      await shadow;
      return outcome;
    }),
  );
}

async function rows(sql: string) {
  return (await client.query({ query: sql, format: 'JSONEachRow' })).json<Record<string, unknown>>();
}

describe('shadow pairs in ClickHouse', () => {
  it('N shadowed requests give exactly N paired records', async () => {
    const buffer = new NodeEventBuffer({ sink: new ClickHouseSink(client, database), spoolDir: spool, lingerMs: 20 }).start();
    const N = 200;
    const primaries = await runRequests('ok', N, shadowUrl, 5000, buffer);
    expect(await buffer.drain(30_000)).toBe(true);
    await buffer.close();
    expect(primaries.every((p) => p.complete && p.text === 'Hello world again')).toBe(true);
    expect(shadowHeadersSeen.slice(0, N).every((h) => h === '1')).toBe(true);
    const [r] = await rows(`SELECT count() AS pairs, uniqExact(correlation_id) AS ids, sum(comparable) AS comparable, min(similarity) AS smin, max(similarity) AS smax, sum(finish_agree) AS agree
      FROM \`${database}\`.${EVENTS_TABLE} FINAL WHERE tenant = 'ok' AND type = 'shadow_pair'`);
    expect(r).toMatchObject({ pairs: String(N), ids: String(N), comparable: String(N), smin: 0.5, smax: 0.5, agree: '0' });
    const [j] = await rows(`SELECT count() AS joined FROM \`${database}\`.${EVENTS_TABLE} AS p FINAL
      ANY INNER JOIN (SELECT correlation_id FROM \`${database}\`.${EVENTS_TABLE} FINAL WHERE tenant = 'ok' AND type = 'request') AS r USING correlation_id
      WHERE p.tenant = 'ok' AND p.type = 'shadow_pair'`);
    expect(j?.joined).toBe(String(N)); // every pair joins its request event by correlation id
  });

  it('a down shadow backend: primary untouched, the record says connect', async () => {
    const buffer = new NodeEventBuffer({ sink: new ClickHouseSink(client, database), spoolDir: spool, lingerMs: 20 }).start();
    const primaries = await runRequests('down', 20, downUrl, 5000, buffer);
    expect(await buffer.drain(30_000)).toBe(true);
    await buffer.close();
    expect(primaries.every((p) => p.complete && p.leg.status === 200)).toBe(true);
    const r = await rows(`SELECT cand_error_class AS cls, comparable, error_class, status, count() AS n FROM \`${database}\`.${EVENTS_TABLE} FINAL
      WHERE tenant = 'down' AND type = 'shadow_pair' GROUP BY cls, comparable, error_class, status`);
    expect(r).toEqual([{ cls: 'connect', comparable: 0, error_class: '', status: 200, n: '20' }]);
  });

  it('a stalling shadow backend: primary untouched, the record says timeout', async () => {
    const buffer = new NodeEventBuffer({ sink: new ClickHouseSink(client, database), spoolDir: spool, lingerMs: 20 }).start();
    // The stalling backend answers its headers and one event at once, then nothing: the timeout must fall after
    // the headers (cand_status 200) even on a loaded machine, so it is generous; the stall is endless anyway.
    const primaries = await runRequests('stall', 10, stallUrl, 2_000, buffer);
    expect(await buffer.drain(30_000)).toBe(true);
    await buffer.close();
    expect(primaries.every((p) => p.complete && p.text === 'Hello world again')).toBe(true);
    const r = await rows(`SELECT cand_error_class AS cls, cand_status, comparable, count() AS n FROM \`${database}\`.${EVENTS_TABLE} FINAL
      WHERE tenant = 'stall' AND type = 'shadow_pair' GROUP BY cls, cand_status, comparable`);
    expect(r).toEqual([{ cls: 'timeout', cand_status: 200, comparable: 0, n: '10' }]);
  });
});
