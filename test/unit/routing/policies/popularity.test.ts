import { describe, expect, it } from 'vitest';
import { OwnShare } from '../../../../src/routing/policies/own-share.ts';
import { PrefillWork, workCap } from '../../../../src/routing/policies/prefill-work.ts';
import { SendLog } from '../../../../src/routing/policies/load.ts';
import { PrefixAffinityPolicy } from '../../../../src/routing/policies/prefix-affinity.ts';
import { PrefixPopularity } from '../../../../src/routing/policies/prefix-popularity.ts';
import { MAX_BATCH_REQUESTS, PopularityBoard, SharedPopularity } from '../../../../src/routing/policies/shared-popularity.ts';
import { PlacementLog, PlacementTable, PlacementView, backendHash } from '../../../../src/routing/policies/shared-placements.ts';
import { type BoardAnswer, type BoardRequest, PoolBoard } from '../../../../src/routing/popularity-board.ts';
import { PopularityExchange } from '../../../../src/routing/popularity-exchange.ts';
import { boardAnswerSchema, boardSyncSchema } from '../../../../src/workers/popularity-board-rpc.ts';
import { fmix32 } from '../../../../src/util/hash.ts';
import { candidates, chain, input } from './helpers.ts';

/** A board reached the way Workers RPC reaches it: arguments and answer copied (structured clone) and checked. */
const overRpc = (exchange: (req: BoardRequest) => BoardAnswer) => (req: BoardRequest, halfLife = 1024): BoardAnswer => {
  const args = boardSyncSchema.parse(structuredClone({ halfLife, req }));
  return boardAnswerSchema.parse(structuredClone(exchange(args.req)));
};

const agentPrompt = chain([], 0, 60, 4242); // 60 blocks (~7.5k tokens) shared by a third of the traffic

describe('prefix popularity', () => {
  it('knows a deep shared prefix is hot as soon as its first block is (every block is counted)', () => {
    const p = new PrefixPopularity(1024);
    for (let i = 0; i < 300; i++) p.record(i % 3 === 0 ? chain(agentPrompt, 60, 5, i) : chain([], 0, 20, i));
    const first = p.share(agentPrompt[0]!);
    expect(first).toBeCloseTo(1 / 3, 1);
    expect(p.share(agentPrompt[59]!)).toBeCloseTo(first, 6);
    expect(p.share(chain([], 0, 20, 7)[3]!)).toBeLessThan(0.01); // one request's own block
  });

  it('a flood of one-off blocks does not displace a popular entry from the bounded table', () => {
    const p = new PrefixPopularity(1024, 1024);
    for (let i = 0; i < 2000; i++) p.record(i % 4 === 0 ? chain(agentPrompt, 2, 100, i) : chain([], 0, 100, i));
    expect(p.share(agentPrompt[0]!)).toBeGreaterThan(0.2);
    expect(p.share(agentPrompt[1]!)).toBeGreaterThan(0.2);
  });

  it('forgets: a half-life of other traffic halves a prefix\'s count', () => {
    const p = new PrefixPopularity(100);
    for (let i = 0; i < 200; i++) p.record(agentPrompt);
    const count = () => p.share(agentPrompt[0]!) * p.weight;
    const before = count();
    for (let i = 0; i < 100; i++) p.record(chain([], 0, 3, i));
    expect(count() / before).toBeCloseTo(0.5, 6);
  });

  it('lists the entries above a share, most popular first', () => {
    const p = new PrefixPopularity(1024);
    for (let i = 0; i < 100; i++) p.record(i % 2 ? chain(agentPrompt, 3, 0, 0) : chain(agentPrompt, 1, 2, i));
    const hot = p.hot(0.4);
    expect(hot.hashes.length).toBe(3);
    expect(hot.shares[0]).toBeCloseTo(1, 2);
    expect(hot.shares[1]).toBeCloseTo(0.5, 2);
    expect(hot.weight).toBeGreaterThan(90);
  });
});

describe('shared popularity (board + per-instance views)', () => {
  it("a young board lists only prefixes that could be hot, and the policy's decisions are the same with its list", () => {
    // 300 new conversations, each ~16 blocks seen once (0.3% of what the board has seen: above DEFAULT_MIN_SHARE),
    // and a tenant prompt carried by 4 of them.
    const board = new PopularityBoard(1024);
    const tenant = chain([], 0, 6, 77);
    const batch: number[] = [];
    const requests = Array.from({ length: 300 }, (_, i) => (i % 75 === 0 ? chain(tenant, 6, 10, i) : chain([], 0, 16, i)));
    for (const r of requests) batch.push(r.length, ...Array.from(r));
    board.ingest(Int32Array.from(batch));
    const list = board.hotList();
    expect(list.hashes.length).toBe(6); // the tenant prompt's blocks, not ~4,700 one-off blocks
    expect(Array.from(list.hashes)).toContain(tenant[5]! | 0);
    // What is left out is below the policy's hot threshold for any pool size: a view with the full list and one
    // with the board's list give every share the same side of the threshold.
    const full = new PrefixPopularity(1024);
    for (const r of requests) full.record(r);
    const view = new SharedPopularity(1024);
    view.applyHotList(list);
    for (const n of [1, 2, 8, 64, 125]) {
      const threshold = 0.125 / n;
      const prior = 2 / threshold;
      for (const r of requests) for (const h of Array.from(r)) expect(view.share(h, prior) > threshold).toBe(full.share(h, prior) > threshold);
    }
  });

  it('64 replicas seeing 1/64 each agree on the hot prefix and on the key once they have synced', () => {
    const board = new PopularityBoard(1024);
    const views = Array.from({ length: 64 }, () => new SharedPopularity(1024));
    for (let i = 0; i < 2000; i++) views[fmix32(i) % 64]!.record(fmix32(i ^ 0x55) % 3 === 0 ? chain(agentPrompt, 60, 4, i) : chain([], 0, 10, i));
    // Alone, each replica has seen ~10 agent requests out of ~31: the estimates scatter.
    const prior = 2 / (0.125 / 8);
    const local = views.map((v) => v.share(agentPrompt[30]!, prior));
    expect(Math.max(...local) - Math.min(...local)).toBeGreaterThan(0.02);
    for (const v of views) board.ingest(v.takeBatch());
    const list = board.hotList();
    for (const v of views) v.applyHotList(list);
    const shares = views.map((v) => v.share(agentPrompt[30]!, prior));
    expect(Math.min(...shares)).toBeGreaterThan(0.3);
    expect(Math.max(...shares) - Math.min(...shares)).toBe(0);
  });

  it('keeps the local view until the board has seen more than this instance; caps a batch', () => {
    const v = new SharedPopularity(1024);
    for (let i = 0; i < MAX_BATCH_REQUESTS + 10; i++) v.record(agentPrompt.slice(0, 4));
    expect(v.pendingRequests).toBe(MAX_BATCH_REQUESTS);
    const batch = v.takeBatch();
    expect(batch.length).toBe(MAX_BATCH_REQUESTS * 5);
    expect(v.pendingRequests).toBe(0);
    v.applyHotList({ hashes: new Int32Array(0), shares: new Float32Array(0), weight: 1 });
    expect(v.share(agentPrompt[0]!)).toBeGreaterThan(0.9); // the board knows less: local counts win
    const board = new PopularityBoard(1024);
    expect(board.ingest(Int32Array.from([2, 1, 2, 5, 1]))).toBe(1); // the malformed tail is ignored
  });

  it('the exchange syncs only due views, survives a failing board, and its arguments and answers cross RPC', async () => {
    const board = new PopularityBoard(1024);
    const log = new PlacementLog();
    let calls = 0;
    let fail = true;
    const rpc = overRpc((req) => {
      board.ingest(req.batch);
      log.append(req.placements);
      return { hot: board.hotList(), placements: log.since(req.cursor) };
    });
    const ex = new PopularityExchange(async (_scope, _hl, req) => {
      calls++;
      if (fail) throw new Error('board down');
      return rpc(req);
    }, 1000);
    const views = ex.viewsFor('acme', 'gpu', 1024);
    expect(ex.viewsFor('acme', 'gpu', 1024)).toBe(views);
    const view = views.popularity;
    expect(ex.due(0)).toBe(false); // nothing to send
    for (let i = 0; i < 10; i++) view.record(agentPrompt.slice(0, 2));
    expect(ex.due(0)).toBe(true);
    await ex.sync(0); // fails; the batch is lost, counting goes on
    for (let i = 0; i < 10; i++) view.record(agentPrompt.slice(0, 2));
    expect(ex.due(500)).toBe(false);
    fail = false;
    await ex.sync(1000);
    expect(calls).toBe(2);
    expect(view.share(agentPrompt[1]!)).toBeCloseTo(1, 3);
    const good: BoardAnswer = { hot: { weight: 3, hashes: Int32Array.from([7, -8]), shares: Float32Array.from([0.5, 0.25]) }, placements: { cursor: 9, pairs: Int32Array.from([1, 2, 3, 4]) } };
    const back = boardAnswerSchema.parse(structuredClone(good));
    expect([back.hot.weight, Array.from(back.hot.hashes), Array.from(back.hot.shares), back.placements.cursor, Array.from(back.placements.pairs)])
      .toEqual([3, [7, -8], [0.5, 0.25], 9, [1, 2, 3, 4]]);
    const answerIssue = (a: unknown) => boardAnswerSchema.safeParse(a).error?.issues[0]?.message;
    expect(answerIssue({ ...good, hot: { ...good.hot, shares: Float32Array.from([0.5]) } })).toMatch(/one share per hot hash/);
    expect(answerIssue({ ...good, placements: { cursor: 9, pairs: Int32Array.from([1, 2, 3]) } })).toMatch(/pairs/);
    expect(answerIssue({ ...good, placements: { cursor: 9, pairs: [1, 2] } })).toBeDefined(); // an array of another type
    const request: BoardRequest = { batch: Int32Array.from([1, 7]), placements: Int32Array.from([1, 2]), cursor: 4, ask: Int32Array.from([8, 9]) };
    const syncIssue = (halfLife: number, req: object) => boardSyncSchema.safeParse({ halfLife, req: { ...request, ...req } }).error?.issues[0]?.message;
    expect(syncIssue(1024, {})).toBeUndefined();
    expect(syncIssue(2, {})).toBe('halfLife must be an integer >= 8');
    expect(syncIssue(1024, { cursor: -1 })).toBe('cursor must be a non-negative integer');
    expect(syncIssue(1024, { placements: Int32Array.from([1, 2, 3]) })).toMatch(/pairs/);
    expect(syncIssue(1024, { batch: new Int32Array(1024 * 1024) })).toMatch(/at most 1048576 int32s/);
    expect(syncIssue(1024, { ask: new Uint8Array(4) })).toBeDefined();
  });

  it('placements: every instance learns where the others put a key, from its cursor on', () => {
    const log = new PlacementLog(8);
    const [a, b] = [new PlacementView(), new PlacementView()];
    a.record(111, 'b3');
    a.record(111, 'b3'); // unchanged: not sent twice
    expect(a.pending).toBe(1);
    const ta = a.take();
    log.append(ta.pairs);
    a.apply(log.since(ta.cursor));
    const tb = b.take();
    log.append(tb.pairs);
    b.apply(log.since(tb.cursor));
    expect(b.get(111)).toBe(backendHash('b3'));
    b.record(111, 'b5'); // moved (spilled) elsewhere: last placement wins
    const tb2 = b.take();
    log.append(tb2.pairs);
    b.apply(log.since(tb2.cursor));
    a.apply(log.since(a.take().cursor));
    expect(a.get(111)).toBe(backendHash('b5'));
    // An instance further behind than the log holds gets the newest entries only.
    for (let k = 0; k < 20; k++) log.append([1000 + k, backendHash('b1')]);
    const late = new PlacementView();
    late.apply(log.since(0));
    expect(late.get(1019)).toBe(backendHash('b1'));
    expect(late.get(1000)).toBeUndefined();
  });

  it("a lookup finds a conversation placed before the log's horizon by asking about its prompt's blocks", async () => {
    // A log of 8 placements stands for a busy pool's 65,536 (~30 s at 1,000 requests a second).
    const board = new PoolBoard(1024, { logCapacity: 8, tableSlots: 1024 });
    const rpc = overRpc((req) => board.exchange(req));
    const wire = async (_scope: string, _hl: number, req: BoardRequest) => rpc(req);
    const placer = new PopularityExchange(wire, 0).viewsFor('acme', 'gpu', 1024);
    placer.placements.record(4242, 'b6'); // turn 1's last block
    await placer.lookup.refresh(0);
    for (let k = 0; k < 30; k++) placer.placements.record(9000 + k, 'b1'); // everything since: the log wraps
    await placer.lookup.refresh(1);
    const fresh = () => new PopularityExchange(wire, 0).viewsFor('acme', 'gpu', 1024);
    const blind = fresh();
    await blind.lookup.refresh(2);
    expect(blind.placements.get(4242)).toBeUndefined(); // the log alone no longer has it
    const asking = fresh();
    await asking.lookup.refresh(3, Int32Array.from([4242, 5555]));
    expect(asking.placements.get(4242)).toBe(backendHash('b6'));
    expect(asking.placements.get(5555)).toBeUndefined(); // never placed
    expect(asking.placements.get(9029)).toBe(backendHash('b1')); // and the log's delta as before
    // A newer placement of an asked key comes after it in the answer, so it wins.
    placer.placements.record(4242, 'b2');
    await placer.lookup.refresh(4);
    await asking.lookup.refresh(5, Int32Array.from([4242]));
    expect(asking.placements.get(4242)).toBe(backendHash('b2'));
  });

  it('the placement table keeps the newer of two keys that share a slot pair, and answers only what it holds', () => {
    const table = new PlacementTable(2); // one pair: every key collides
    table.setAll([1, 10, 2, 20]);
    expect(Array.from(table.lookup([1, 2, 3]))).toEqual([1, 10, 2, 20]);
    table.setAll([3, 30]); // evicts the older, 1
    expect(Array.from(table.lookup([1, 2, 3]))).toEqual([2, 20, 3, 30]);
    table.setAll([2, 21, 4, 40]); // 2 updated in place (now newest but one), 4 evicts 3
    expect(Array.from(table.lookup([2, 3, 4]))).toEqual([2, 21, 4, 40]);
  });

  it('the placement table starts small, grows with what it holds up to its bound, and keeps the newest keys', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => fmix32(i + 5) | 0);
    const table = new PlacementTable(1 << 14);
    expect(table.size).toBe(4096);
    keys.slice(0, 600).forEach((k, i) => table.setAll([k, i]));
    expect(table.size).toBe(4096); // a quiet pool's board stays small
    keys.forEach((k, i) => table.setAll([k, i]));
    expect(table.size).toBe(1 << 14); // and never passes its bound
    const newest = keys.slice(-1000);
    const found = table.lookup(newest);
    expect(found.length / 2).toBeGreaterThan(990);
    for (let j = 0; j < found.length; j += 2) expect(found[j + 1]).toBe(keys.indexOf(found[j]!)); // the right backend
  });
});

describe('own share and prefill work', () => {
  const reported = (own: number, engine: number) => candidates(4, () => ({ inflightAtReport: own, running: engine, observedAt: 0 }));

  it('a lone router is recognised, one of two is not, and the mode does not flap near the thresholds', () => {
    const alone = new OwnShare();
    for (let i = 0; i < 30; i++) alone.observe(reported(6, 6), 0, 5000);
    expect(alone.alone).toBe(true);
    for (let i = 0; i < 10; i++) alone.observe(reported(6, 8), 0, 5000); // 0.75: inside the band, stays
    expect(alone.alone).toBe(true);
    const half = new OwnShare();
    for (let i = 0; i < 100; i++) half.observe(reported(i % 2 ? 4 : 2, 6), 0, 5000);
    expect(half.alone).toBe(false);
    const idle = new OwnShare();
    idle.observe(reported(0, 0), 0, 5000);
    expect(idle.value).toBe(0); // no load: no evidence either way
  });

  it('prefill work is the platform\'s awaiting prefill plus what other routers queued, at a typical request each', () => {
    const work = new PrefillWork();
    work.observe(2000);
    const sends = new SendLog(5000);
    const c = (load: object) => ({ id: 'b0', weight: 1, maxConcurrency: 0, load: { inflight: 2, ...load } });
    expect(work.of(c({ prefillChars: 6000, awaitingFirstByte: 2 }), 0, 5000, sends)).toBe(6000);
    // The engine queues 5, of which 2 are this instance's own: 3 others at 2000 characters each.
    expect(work.of(c({ prefillChars: 6000, awaitingFirstByte: 2, waiting: 5, observedAt: 0 }), 100, 5000, sends)).toBe(12_000);
    // A stale report is ignored.
    expect(work.of(c({ prefillChars: 6000, awaitingFirstByte: 2, waiting: 5, observedAt: 0 }), 6000, 5000, sends)).toBe(6000);
  });

  it('the prefill bound refuses a backend whose queued work is over factor x the mean plus one typical request', () => {
    const cands = candidates(4, () => ({}));
    const fits = workCap([30_000, 2000, 0, 0], cands, 2, 1000);
    expect(fits(0)).toBe(false); // 30k > 2 x 8k + 1k
    expect(fits(1)).toBe(true);
  });
});

describe('prefix-affinity alone vs shared', () => {
  // Every backend reports the load this instance put there: a lone router.
  const lone = (awaiting: number[], inflight = awaiting) =>
    candidates(4, (i) => ({ inflight: inflight[i], awaitingFirstByte: awaiting[i], inflightAtReport: inflight[i], running: inflight[i], observedAt: 0 }));

  it('alone, a new long prompt goes where the prefill backlog is least, not where the hash points', () => {
    const p = new PrefixAffinityPolicy({ alone: 'yes' });
    const big = { ...input(chain([], 0, 100, 1)), promptChars: 51_200 };
    const first = p.select(big, lone([0, 0, 0, 0], [2, 2, 2, 2]));
    expect(first.reason).toBe('least-prefill');
    const awaiting = [0, 0, 0, 0];
    awaiting[first.index] = 1;
    const second = p.select({ ...big, prefixHashes: chain([], 0, 100, 2) }, lone(awaiting, [2, 2, 2, 2]));
    expect(second.index).not.toBe(first.index);
    // The next turn of the first conversation follows the index to where its prefix is.
    const turn = p.select({ ...big, prefixHashes: chain(chain([], 0, 100, 1), 100, 4, 9), promptChars: 53_248 }, lone([0, 0, 0, 0], [2, 2, 2, 2]));
    expect(turn).toMatchObject({ index: first.index, reason: 'indexed' });
  });

  it('alone, a new conversation avoids a backend above 1.5 x the mean load even if its prefill queue is empty', () => {
    const p = new PrefixAffinityPolicy({ alone: 'yes' });
    // (Each send also counts on top of the report, so after a few the others catch up with backend 0.)
    for (let i = 0; i < 5; i++) {
      const sel = p.select({ ...input(chain([], 0, 10, 500 + i)), promptChars: 5120 }, lone([0, 1, 1, 1], [12, 4, 4, 4]));
      expect(sel.index).not.toBe(0);
    }
  });

  it("'auto' switches to alone mode from the reports; 'no' keeps rendezvous placement", () => {
    const auto = new PrefixAffinityPolicy();
    const shared = new PrefixAffinityPolicy({ alone: 'no' });
    for (let i = 0; i < 30; i++) {
      auto.select(input(chain([], 0, 4, i)), lone([0, 0, 0, 0], [3, 3, 3, 3]));
      shared.select(input(chain([], 0, 4, i)), lone([0, 0, 0, 0], [3, 3, 3, 3]));
    }
    expect(auto.isAlone()).toBe(true);
    expect(shared.isAlone()).toBe(false);
    expect(shared.select(input(chain([], 0, 4, 999)), lone([0, 0, 0, 0], [3, 3, 3, 3])).reason).toMatch(/^affinity:/);
  });
});

describe('prefix-affinity: the home of a hot prefix', () => {
  /** Backends used by new conversations under `agent` (4% of the traffic) and under only the prefix every request shares. */
  function spreadOf(homeSpread: number): { agent: Set<number>; everyone: Set<number> } {
    const p = new PrefixAffinityPolicy({ alone: 'no', placements: new PlacementView(), homeSpread });
    const everyone = chain([], 0, 2, 5);
    const agent = chain(everyone, 2, 8, 31);
    const used = { agent: new Set<number>(), everyone: new Set<number>() };
    for (let i = 0; i < 4000; i++) {
      const underAgent = i % 25 === 0;
      const hashes = underAgent ? chain(agent, 10, 4, 1000 + i) : chain(everyone, 2, 10, 100_000 + i);
      // Fresh equal reports: where a request goes is the policy's choice, not a load difference.
      const sel = p.select(input(hashes, i), candidates(8, () => ({ running: 2, waiting: 0, observedAt: i })));
      if (i < 2000) continue; // popularity has settled
      expect(sel.reason).toBe('new');
      (underAgent ? used.agent : used.everyone).add(sel.index);
    }
    return used;
  }

  it('new conversations under a prefix carried by 4% of requests stay on its few home backends', () => {
    const home = spreadOf(12);
    // ceil(12 x ~0.04 x 8) = 4 backends, where without homes the same 80 conversations use all 8.
    expect(home.agent.size).toBeGreaterThanOrEqual(2);
    expect(home.agent.size).toBeLessThanOrEqual(4);
    expect(spreadOf(0).agent.size).toBe(8);
    // A prefix every request shares has every backend as its home: nothing is concentrated.
    expect(home.everyone.size).toBe(8);
  });
});

describe('prefix-affinity: a board lookup before placing a long prompt blind', () => {
  const idle = () => candidates(4, () => ({ running: 1, waiting: 0, observedAt: 0 }));
  /** A shared-mode policy whose lookup installs `board`'s placements into its own view when asked. */
  function sharedPolicy(opts: { age: number; board?: PlacementView }) {
    const placements = new PlacementView();
    const asked: number[] = [];
    const keys: number[][] = [];
    const lookup = {
      ageMs: () => opts.age,
      refresh: async (now: number, ask?: Int32Array) => {
        asked.push(now);
        keys.push(Array.from(ask ?? []));
        if (opts.board) {
          const log = new PlacementLog();
          log.append(opts.board.take().pairs);
          placements.apply(log.since(0));
        }
      },
    };
    const policy = new PrefixAffinityPolicy({ alone: 'no', placements, lookup });
    return { policy, asked, keys, placements };
  }

  it('asks only for a long prompt with nothing known past its hot part, on a stale view', () => {
    const { policy, asked, keys } = sharedPolicy({ age: 5_000 });
    const long = { ...input(chain([], 0, 20, 2)), promptChars: 10_240 };
    // A fresh instance asks on its very first request: it knows nothing of what others placed. It asks about
    // the prompt's blocks (nothing of it is hot here, so all of them), whose placement it would follow.
    expect(policy.prepare(long, 4)).toBeInstanceOf(Promise);
    expect(keys[0]).toEqual(Array.from(long.prefixHashes));
    expect(policy.prepare({ ...long, promptChars: 2_048 }, 4)).toBeUndefined(); // too short to pay for a round trip
    expect(policy.prepare(long, 1)).toBeUndefined(); // a single backend: nothing to choose
    const placed = policy.select(long, idle());
    expect(placed.reason).toBe('new');
    // Its next turn is known here (this instance placed it): no lookup.
    expect(policy.prepare({ ...input(chain(long.prefixHashes as number[], 20, 2, 3)), promptChars: 11_264 }, 4)).toBeUndefined();
    expect(asked).toHaveLength(1);
    const fresh = sharedPolicy({ age: 100 });
    expect(fresh.policy.prepare(long, 4)).toBeUndefined(); // the view is recent enough
    const alone = new PrefixAffinityPolicy({ alone: 'yes', lookup: { ageMs: () => 1e9, refresh: async () => {} } });
    expect(alone.prepare(long, 4)).toBeUndefined(); // a lone router knows everything already
  });

  it("after the lookup, a conversation another instance placed is followed to that instance's backend", async () => {
    const other = new PlacementView();
    const conversation = chain([], 0, 30, 77);
    const { policy } = sharedPolicy({ age: 5_000, board: other });
    policy.select(input(chain([], 0, 4, 1)), idle());
    // Another isolate placed the previous turn on b2 (not where this key's hash would send it first).
    const turn = { ...input(chain(conversation, 30, 3, 5)), promptChars: 33 * 512 };
    const blind = new PrefixAffinityPolicy({ alone: 'no', placements: new PlacementView() });
    blind.select(input(chain([], 0, 4, 1)), idle());
    const target = (blind.select(turn, idle()).index + 2) % 4;
    other.record(conversation[29]!, `b${target}`);
    const p = policy.prepare(turn, 4);
    expect(p).toBeInstanceOf(Promise);
    await p;
    expect(policy.select(turn, idle())).toMatchObject({ index: target, reason: 'placed' });
  });

  it('below minLoad a backend keeps its conversation though the bounded-load cap would refuse it', () => {
    const placements = new PlacementView();
    const conversation = chain([], 0, 10, 9);
    const loads = (l: number[]) => candidates(8, (i) => ({ running: l[i] ?? 0, waiting: 0, observedAt: 0 }));
    for (const minLoad of [8, 0]) {
      const p = new PrefixAffinityPolicy({ alone: 'no', placements, minLoad });
      p.select(input(chain([], 0, 4, 1)), loads([]));
      placements.record(conversation[9]!, 'b1');
      // Backend 1 runs 6 requests, the other seven none: 6 + 1 > ceil(4 x 7 / 8) = 4, so the bound alone refuses.
      const sel = p.select(input(chain(conversation, 10, 1, 3)), loads([0, 6]));
      if (minLoad === 8) expect(sel).toMatchObject({ index: 1, reason: 'placed' });
      else expect(sel.index).not.toBe(1);
    }
  });
});

describe('popularity exchange: lookups and the scheduled flush', () => {
  it('a lookup is bounded by its timeout when the board hangs, joins an exchange in flight, and never rejects', async () => {
    let calls = 0;
    let release: (() => void) | undefined;
    const hanging = new PopularityExchange(
      () => {
        calls++;
        return new Promise((_, reject) => (release = () => reject(new Error('board down'))));
      },
      1000,
      20,
    );
    const { lookup, placements } = hanging.viewsFor('acme', 'gpu', 1024);
    placements.record(5, 'b1');
    // The board never answers until release(): refresh() resolving at all shows the lookup timeout bounded it.
    await lookup.refresh(0);
    expect(release).toBeDefined();
    await lookup.refresh(1); // joins the exchange still in flight
    expect(calls).toBe(1);
    release!();
    await new Promise((r) => setTimeout(r, 0));
    expect(lookup.ageMs(11)).toBe(11);
  });

  it('a lookup that joins an exchange in flight still asks its keys, and answers never undo a newer own placement', async () => {
    // The board's log holds 8 placements, so a conversation placed before 30 others is found only by asking.
    const board = new PoolBoard(1024, { logCapacity: 8, tableSlots: 1024 });
    const held: (() => void)[] = [];
    const sent: BoardRequest[] = [];
    let hold = false;
    const rpc = overRpc((req) => board.exchange(req));
    const wire = (_scope: string, _hl: number, req: BoardRequest) => {
      sent.push(req);
      const answer = rpc(req);
      return hold ? new Promise<typeof answer>((res) => held.push(() => res(answer))) : Promise.resolve(answer);
    };
    const placer = new PopularityExchange(wire, 0).viewsFor('acme', 'gpu', 1024);
    placer.placements.record(4242, 'b6');
    await placer.lookup.refresh(0);
    for (let k = 0; k < 30; k++) placer.placements.record(9000 + k, 'b1');
    await placer.lookup.refresh(1);
    placer.placements.record(777, 'b0'); // an older placement of a key this isolate is about to move
    await placer.lookup.refresh(1.5);

    const ex = new PopularityExchange(wire, 0, 5_000);
    const views = ex.viewsFor('acme', 'gpu', 1024);
    hold = true;
    views.placements.record(555, 'b2');
    const sync = ex.sync(2, true); // hands over 555; in flight until released
    expect(sent.at(-1)!.placements).toEqual(Int32Array.from([555, backendHash('b2')]));
    views.placements.record(777, 'b3'); // placed while the exchange is in flight: newer than its answer's b0
    const asking = views.lookup.refresh(3, Int32Array.from([4242]));
    expect(sent.at(-1)!.ask).toEqual(Int32Array.from([4242])); // sent at once, not after the exchange
    expect(sent.at(-1)!.placements.length).toBe(0); // the ask-only request hands nothing over twice
    for (const release of held.reverse()) release(); // the ask's answer first, the exchange's second
    await Promise.all([sync, asking]);
    expect(views.placements.get(4242)).toBe(backendHash('b6'));
    expect(views.placements.get(9029)).toBe(backendHash('b1')); // the exchange's delta too
    expect(views.placements.get(777)).toBe(backendHash('b3'));
  });

  it('an isolate that placed a conversation and then saw no request still sends it once the interval passes', async () => {
    const log = new PlacementLog();
    const ex = new PopularityExchange(async (_s, _h, req) => {
      log.append(req.placements);
      return { hot: { weight: 0, hashes: new Int32Array(0), shares: new Float32Array(0) }, placements: log.since(req.cursor) };
    }, 30);
    const { placements } = ex.viewsFor('acme', 'gpu', 1024);
    await ex.sync(performance.now()); // nothing pending: no exchange, lastSync stays
    placements.record(42, 'b3');
    await ex.sync(performance.now());
    placements.record(43, 'b2'); // placed right after an exchange: not due yet
    expect(ex.due(performance.now())).toBe(false);
    const flush = ex.syncWhenDue();
    expect(flush).not.toBeNull();
    expect(ex.syncWhenDue()).toBeNull(); // one timer at a time
    await flush;
    const late = new PlacementView();
    late.apply(log.since(0));
    expect(late.get(43)).toBe(backendHash('b2'));
  });
});
