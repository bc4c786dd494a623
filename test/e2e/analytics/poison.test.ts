// One backend answering with poisoned values (usage.prompt_tokens -5, an object for completion_tokens, a number
// as finish_reason) among normal traffic from real simulator backends, through a real `kvroute serve` process,
// into real ClickHouse and into SQLite: every request's event is stored (the poisoned values sanitised), no tenant
// loses events, and a poisoned event an older router left in the spool goes to the dead-letter table and file
// with its reason instead of blocking everything behind it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyticsEventSchema, newEventId } from '../../../src/analytics/event.ts';
import { DEAD_LETTERS_TABLE } from '../../../src/analytics/dead-letter.ts';
import { EVENTS_TABLE } from '../../../src/analytics/migrations.ts';
import { createClickHouseClient } from '../../../src/analytics/sinks/clickhouse.ts';
import { openSqlite } from '../../../src/analytics/sinks/sqlite.ts';
import { DEAD_LETTER_FILE } from '../../../src/analytics/delivery/spool.ts';
import { startSimPool, type SimPool } from '../../helpers/sim-pool.ts';
import { startServe, type ServeProcess } from '../../helpers/serve-process.ts';
import { keptEvent } from '../../helpers/dead-letters.ts';
import { pollUntil } from '../../helpers/poll.ts';
import { dropDatabase, testDatabase, useClickHouse } from './clickhouse-server.ts';

const MODEL = 'llama-3.1-8b';
const GOOD_KEY = 'sk-e2e-good-0123456789';
const POISON_KEY = 'sk-e2e-poison-0123456789';

/** A backend that answers every chat completion with poisoned usage and finish_reason (JSON or SSE). */
function poisonBackend(): Promise<Server> {
  const usage = { prompt_tokens: -5, completion_tokens: { n: 1 }, total_tokens: 'many' };
  const server = createServer((req, res) => {
    if (req.url === '/health') return void res.end('ok');
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const stream = (JSON.parse(body || '{}') as { stream?: unknown }).stream === true;
      if (!stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'p', object: 'chat.completion', model: MODEL, choices: [{ index: 0, message: { role: 'assistant', content: 'poison' }, finish_reason: 42 }], usage }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
      res.end(chunk({ choices: [{ index: 0, delta: { content: 'poison' }, finish_reason: null }] }) + chunk({ choices: [{ index: 0, delta: {}, finish_reason: { why: 'stop' } }] }) + chunk({ choices: [], usage }) + 'data: [DONE]\n\n');
    });
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

function config(simUrls: string[], poisonUrl: string) {
  return {
    tenants: {
      good: { apiKeys: [GOOD_KEY], config: { models: { [MODEL]: { pool: 'sim' } }, pools: { sim: { backends: simUrls.map((url, i) => ({ id: `s${i}`, url })) } }, health: { probeIntervalMs: 0 } } },
      poison: { apiKeys: [POISON_KEY], config: { models: { [MODEL]: { pool: 'bad' } }, pools: { bad: { backends: [{ id: 'bad0', url: poisonUrl }] } }, health: { probeIntervalMs: 0 } } },
    },
  };
}

/** A spool segment as an older router (without sanitising) would have left it: a poisoned event between two good ones. */
function seedSpool(dataDir: string, poisonedValue: unknown): { good: string[]; poisoned: string } {
  const event = (over: Record<string, unknown>) => ({
    type: 'request', event_id: newEventId(), ts: Date.now(), tenant: 'old', request_id: 'r', correlation_id: 'r', model: MODEL, experiment: '', arm: '',
    stream: false, pool: 'sim', backend: 's0', upstream_model: '', status: 200, error_class: '', error_message: '', ttft_ms: 5, latency_ms: 9,
    prompt_tokens: 3, completion_tokens: 4, cached_tokens: 0, finish_reason: 'stop', decision: '', router_overhead_ms: 0.1, shadowed: false, ...over,
  });
  const good = [event({}), event({})];
  for (const g of good) analyticsEventSchema.parse(g);
  const poisoned = event({ prompt_tokens: poisonedValue });
  mkdirSync(join(dataDir, 'spool'), { recursive: true });
  writeFileSync(join(dataDir, 'spool', '000001700000000-00000000.ndjson'), [good[0], poisoned, good[1]].map((e) => JSON.stringify(e)).join('\n') + '\n');
  return { good: good.map((e) => e.event_id), poisoned: poisoned.event_id };
}

async function traffic(url: string): Promise<{ good: number; poison: number }> {
  const send = async (key: string, stream: boolean) => {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hello there' }], max_tokens: 8, stream, ...(stream ? { stream_options: { include_usage: true } } : {}) }),
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    if (stream) expect(text).toContain('data: [DONE]');
  };
  let good = 0;
  let poison = 0;
  for (let i = 0; i < 40; i++) {
    if (i % 4 === 3) {
      await send(POISON_KEY, i % 8 === 7);
      poison++;
    } else {
      await send(GOOD_KEY, i % 2 === 0);
      good++;
    }
  }
  return { good, poison };
}

let pool: SimPool;
let bad: Server;
const dirs: string[] = [];
beforeAll(async () => {
  pool = await startSimPool(2, ['--time-scale', '50']);
  bad = await poisonBackend();
}, 60_000);
afterAll(async () => {
  await pool?.stop();
  bad?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function serve(dataDir: string, args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  return startServe({ config: config(pool.urls, `http://127.0.0.1:${(bad.address() as AddressInfo).port}`), dataDir, args, env });
}

const letterFile = (dataDir: string) => {
  const f = join(dataDir, 'spool', DEAD_LETTER_FILE);
  return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event_id: string; reason: string }) : [];
};

describe('poisoned upstream values with ClickHouse as the store', () => {
  let ch: { url: string; release(): void };
  const database = testDatabase('kvr_poison');
  beforeAll(async () => {
    ch = await useClickHouse();
  }, 60_000);
  afterAll(async () => {
    await dropDatabase(ch.url, database).catch(() => {});
    ch?.release();
  });

  it('stores every event, sanitised; the spooled poison is dead-lettered with its reason', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kvr-poison-ch-'));
    dirs.push(dataDir);
    const seeded = seedSpool(dataDir, -5);
    const router = await serve(dataDir, ['--clickhouse', ch.url], { CLICKHOUSE_DATABASE: database });
    const client = createClickHouseClient({ url: ch.url });
    try {
      const sent = await traffic(router.url);
      const q = async (sql: string) => (await (await client.query({ query: sql, format: 'JSONEachRow' })).json<Record<string, unknown>>());
      const count = async (where: string) => Number((await q(`SELECT count() AS n FROM \`${database}\`.${EVENTS_TABLE} FINAL WHERE ${where}`))[0]?.n ?? 0);
      expect(await pollUntil(() => count(`tenant = 'good'`), (n) => n >= sent.good, 30_000, 200)).toBe(sent.good);
      expect(await pollUntil(() => count(`tenant = 'poison'`), (n) => n >= sent.poison, 30_000, 200)).toBe(sent.poison);
      expect(await count(`tenant = 'poison' AND (prompt_tokens != 0 OR completion_tokens != 0 OR finish_reason != '')`)).toBe(0);
      expect(await pollUntil(() => count(`tenant = 'old'`), (n) => n >= 2, 30_000, 200)).toBe(2);
      const dead = (await pollUntil(() => q(`SELECT event_id, reason, raw FROM \`${database}\`.${DEAD_LETTERS_TABLE} FINAL`), (rows) => rows.length >= 1, 30_000, 200)) ?? [];
      expect(dead.map((r) => r.event_id)).toEqual([seeded.poisoned]);
      expect(String(dead[0]!.reason)).toMatch(/^not a valid event: prompt_tokens/);
      expect(keptEvent(String(dead[0]!.raw)).prompt_tokens).toBe(-5);
      expect(letterFile(dataDir).map((l) => l.event_id)).toEqual([seeded.poisoned]);
    } finally {
      router.signal('SIGTERM');
      await router.exited;
      await client.close();
    }
  });
});

describe('poisoned upstream values with SQLite as the store', () => {
  it('stores every event, sanitised; the spooled poison is dead-lettered with its reason', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kvr-poison-sqlite-'));
    dirs.push(dataDir);
    const seeded = seedSpool(dataDir, { tokens: 5 });
    const router = await serve(dataDir, [], { CLICKHOUSE_URL: '' });
    try {
      const sent = await traffic(router.url);
      const db = await openSqlite(join(dataDir, 'analytics.db'));
      const rows = (sql: string) => Promise.resolve(db.prepare(sql).all() as Record<string, unknown>[]);
      const count = async (where: string) => Number((await rows(`SELECT COUNT(*) AS n FROM ${EVENTS_TABLE} WHERE ${where}`))[0]?.n ?? 0);
      expect(await pollUntil(() => count(`tenant = 'good'`), (n) => n >= sent.good, 30_000, 200)).toBe(sent.good);
      expect(await pollUntil(() => count(`tenant = 'poison'`), (n) => n >= sent.poison, 30_000, 200)).toBe(sent.poison);
      expect(await count(`tenant = 'poison' AND (prompt_tokens != 0 OR completion_tokens != 0 OR finish_reason != '')`)).toBe(0);
      expect(await pollUntil(() => count(`tenant = 'old'`), (n) => n >= 2, 30_000, 200)).toBe(2);
      const dead = (await pollUntil(() => rows(`SELECT event_id, reason, raw FROM ${DEAD_LETTERS_TABLE}`), (r) => r.length >= 1, 30_000, 200)) ?? [];
      expect(dead.map((r) => r.event_id)).toEqual([seeded.poisoned]);
      expect(String(dead[0]!.reason)).toMatch(/^not a valid event: prompt_tokens/);
      expect(keptEvent(String(dead[0]!.raw)).prompt_tokens).toEqual({ tokens: 5 });
      expect(letterFile(dataDir).map((l) => l.event_id)).toEqual([seeded.poisoned]);
      (db as unknown as { close(): void }).close();
    } finally {
      router.signal('SIGTERM');
      await router.exited;
    }
  });
});
