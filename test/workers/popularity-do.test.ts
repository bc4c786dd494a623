// The shared prefix-popularity tier inside workerd: the PopularityBoardDurableObject bound as POPULARITY in
// wrangler.toml, reached the way isolates reach it (durableBoardCall, Workers RPC), and fed by the Worker's own traffic.
import { SELF, env } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import { backendHash } from '../../src/routing/policies/shared-placements.ts';
import { ASK_ONLY_CURSOR, PopularityExchange } from '../../src/routing/popularity-exchange.ts';
import { NOTHING } from '../../src/routing/popularity-board.ts';
import { stubByName } from '../../src/workers/env.ts';
import { durableBoardCall } from '../../src/workers/popularity-board-call.ts';
import { prefixHashes } from '../../src/routing/prefix-hash.ts';
import { issuedKeyOf } from '../helpers/responses.ts';
import { rejectionOf } from '../helpers/rpc.ts';

const ADMIN = { authorization: 'Bearer dev-admin-token', 'content-type': 'application/json' };
const MODEL = 'llama-3.1-8b';
const SYSTEM = 'You are the support agent of a large shop. '.repeat(40); // ~1.7k chars: 3 full blocks

describe('prefix popularity board (Durable Object)', () => {
  it('two isolates that each saw half the traffic read the same hot list after syncing', async () => {
    const call = durableBoardCall(stubByName(env.POPULARITY!));
    const a = new PopularityExchange(call, 0);
    const b = new PopularityExchange(call, 0);
    const [sa, sb] = [a.viewsFor('t-board', 'gpu', 1024), b.viewsFor('t-board', 'gpu', 1024)];
    const [va, vb] = [sa.popularity, sb.popularity];
    sa.placements.record(777, 'b1');
    const hot = [11, 22, 33];
    for (let i = 0; i < 200; i++) (i % 2 ? va : vb).record(i % 4 === 0 ? [...hot, 1000 + i] : [5000 + i, 6000 + i]);
    await a.sync(1);
    await b.sync(1);
    await a.sync(2); // a's view now reflects b's batch too
    va.record([1]);
    await a.sync(3);
    for (const v of [va, vb]) expect(v.share(33)).toBeGreaterThan(0.2);
    expect(va.share(33)).toBeCloseTo(vb.share(33), 1);
    vb.record([2]);
    await b.sync(4);
    expect(sb.placements.get(777)).toBe(backendHash('b1')); // a's placement reached b through the board
    // An ask-only request (a lookup beside an exchange in flight): the asked key's placement and no log delta.
    const asked = await call('t-board/gpu/1024', 1024, { batch: new Int32Array(0), placements: new Int32Array(0), cursor: ASK_ONLY_CURSOR, ask: Int32Array.from([777, 778]) });
    expect(Array.from(asked.placements.pairs)).toEqual([777, backendHash('b1')]);
  });

  it('rejects arguments of another type or shape, and a bad half-life, with a RangeError that says what is wrong', async () => {
    const stub = stubByName(env.POPULARITY!)('t-bad');
    const empty = { batch: NOTHING, placements: NOTHING, cursor: 0, ask: NOTHING };
    const rejection = (halfLife: number, req: object) => rejectionOf(stub.sync(halfLife, { ...empty, ...req }));
    const notInt32 = await rejection(1024, { batch: new Uint8Array(5) });
    expect(notInt32).toBeInstanceOf(RangeError);
    expect(notInt32?.message).toMatch(/^invalid popularity board sync at 'req\.batch'/);
    expect((await rejection(1024, { placements: Int32Array.from([1, 2, 3]) }))?.message).toMatch(/pairs/);
    expect((await rejection(2, {}))?.message).toMatch(/halfLife must be an integer >= 8/);
    expect((await rejection(1024, { cursor: -1 }))?.message).toMatch(/cursor must be a non-negative integer/);
  });

  it("an exchange whose board throws loses that batch and goes on: the isolate's caller never sees the error", async () => {
    const call = durableBoardCall(stubByName(env.POPULARITY!));
    await expect(call('t-throws/gpu/2', 2, { batch: Int32Array.from([1, 7]), placements: NOTHING, cursor: 0, ask: NOTHING })).rejects.toThrow(RangeError);
    const ex = new PopularityExchange(call, 0);
    const views = ex.viewsFor('t-throws', 'gpu', 2); // a half-life the board refuses: every exchange throws
    views.popularity.record([1, 2, 3]);
    await expect(ex.sync(1)).resolves.toBeUndefined();
    views.popularity.record([4]);
    await expect(ex.sync(2)).resolves.toBeUndefined(); // counting went on
  });

  it("the Worker sends its routed prefixes to the tenant pool's board after responding", async () => {
    const config = {
      models: { [MODEL]: { pool: 'gpu-a' } },
      pools: { 'gpu-a': { backends: inject('simUrls').map((url, i) => ({ id: `b${i}`, url })) } },
      health: { probeIntervalMs: 0 },
    };
    expect((await SELF.fetch('http://kvroute/admin/tenants/popular', { method: 'PUT', headers: ADMIN, body: JSON.stringify(config) })).status).toBe(201);
    const key = (await issuedKeyOf(await SELF.fetch('http://kvroute/admin/tenants/popular/keys', { method: 'POST', headers: ADMIN }))).key;
    const body = (i: number) => ({ model: MODEL, messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: `question ${i}` }], max_tokens: 2 });
    for (let i = 0; i < 6; i++) {
      const r = await SELF.fetch('http://kvroute/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body(i)),
      });
      expect(r.status).toBe(200);
      await r.arrayBuffer();
      await new Promise((res) => setTimeout(res, 2_100 / 3)); // the exchange runs at most every 2 s
    }
    const first = prefixHashes(body(0), { model: MODEL, blockChars: 512, maxBlocks: 128 }).hashes[0]!;
    const answer = await stubByName(env.POPULARITY!)('popular/gpu-a/1024').sync(1024, { batch: NOTHING, placements: NOTHING, cursor: 0, ask: NOTHING });
    expect(answer.hot.weight).toBeGreaterThan(0);
    expect(Array.from(answer.hot.hashes)).toContain(first | 0);
    expect(answer.placements.pairs.length).toBeGreaterThan(0); // where the Worker placed its keys
  });

  it('a long next turn whose conversation another isolate placed is followed after one lookup at the board', async () => {
    const backends = inject('simUrls').map((url, i) => ({ id: `b${i}`, url }));
    const config = {
      models: { [MODEL]: { pool: 'gpu-a' } },
      pools: { 'gpu-a': { backends } },
      health: { probeIntervalMs: 0 },
      // Many isolates (never alone), and look up whenever the view is not brand new.
      affinity: { policy: 'prefix-affinity', options: { alone: 'no', lookupAfterMs: 0 } },
    };
    expect((await SELF.fetch('http://kvroute/admin/tenants/lookup', { method: 'PUT', headers: ADMIN, body: JSON.stringify(config) })).status).toBe(201);
    const key = (await issuedKeyOf(await SELF.fetch('http://kvroute/admin/tenants/lookup/keys', { method: 'POST', headers: ADMIN }))).key;
    const send = async (body: object) => {
      const r = await SELF.fetch('http://kvroute/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, max_tokens: 2, ...body }),
      });
      expect(r.status).toBe(200);
      await r.arrayBuffer();
      const d = Object.fromEntries(r.headers.get('x-kvroute-decision')!.split(';').map((kv) => kv.split('=') as [string, string]));
      // The lookup's wait is reported twice: in the decision and as a Server-Timing entry of its own.
      const timing = /lookup;dur=([\d.]+)/.exec(r.headers.get('server-timing') ?? '');
      expect(timing?.[1]).toBe(d.lookup);
      return d;
    };
    const warm = await send({ messages: [{ role: 'user', content: 'warm up' }] }); // the policy learns the pool
    expect(warm.lookup).toBeUndefined(); // a short prompt is placed without asking
    // Turn 1 of a long conversation was routed by another isolate, which told the board where it went: one
    // conversation per backend, so the hash cannot land them all there by chance.
    for (const target of backends.map((b) => b.id)) {
      const doc = `Case ${target}. ` + 'The contract between the parties covers delivery, payment and liability. '.repeat(90); // ~6.6k chars
      const turn1 = [{ role: 'system', content: doc }, { role: 'user', content: 'Summarise clause 4.' }];
      const h1 = prefixHashes({ model: MODEL, messages: turn1 }, { model: MODEL, blockChars: 512, maxBlocks: 128 }).hashes;
      const other = new PopularityExchange(durableBoardCall(stubByName(env.POPULARITY!)), 0).viewsFor('lookup', 'gpu-a', 1024);
      other.placements.record(h1[h1.length - 1]!, target);
      await other.lookup.refresh(0); // sends it to the board
      const turn2 = [...turn1, { role: 'assistant', content: 'Clause 4 limits liability.' }, { role: 'user', content: 'And clause 5?' }];
      const d = await send({ messages: turn2 });
      expect(d).toMatchObject({ backend: target, reason: 'placed' });
      expect(Number(d.lookup)).toBeGreaterThanOrEqual(0); // it waited for the board (at most lookupTimeoutMs)
    }
  });
});

