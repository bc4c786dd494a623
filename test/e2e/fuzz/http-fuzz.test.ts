// Property-based fuzzing of kvroute's HTTP surface, on both runtimes as real processes over real sockets, in
// front of a real simulated vLLM pool with two tenants. Every answer is judged (judge.ts); after every batch the
// other tenant must still be served and every backend's in-flight count must return to 0.
//
//   FUZZ_REQUESTS=5000   requests per runtime (default 1500 in CI)      FUZZ_SEED=n   pin the seed (default fixed)
//   FUZZ_BATCH=50        requests sent at once per property run          FUZZ_PATH=p   replay one failing run
//   FUZZ_RUNTIMES=node   node, workers or both (default both)            FUZZ_KEEP_GOING=1  collect every violation
//   FUZZ_SHRINK=1        shrink a failing batch to a minimal one (slow)  FUZZ_LOG_DIR=d  keep each router's log there
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzRequest, type FuzzRequest } from './arbitraries.ts';
import { sender } from './client.ts';
import { Figures } from './figures.ts';
import { describeRequest, judge, type JudgeContext, type Runtime, type Violation } from './judge.ts';
import { inflightDrained, servesTenant, startNodeTarget, startSimulators, startWorkersTarget, type Simulators, type Target } from './targets.ts';

const env = process.env;
const REQUESTS = Number(env.FUZZ_REQUESTS ?? 1_500);
const BATCH = Number(env.FUZZ_BATCH ?? 50);
const SEED = env.FUZZ_SEED ? Number(env.FUZZ_SEED) : 20_261_205;
const PATH = env.FUZZ_PATH;
const KEEP_GOING = env.FUZZ_KEEP_GOING === '1';
const SHRINK = env.FUZZ_SHRINK === '1';
const RUNTIMES = (env.FUZZ_RUNTIMES ?? 'node,workers').split(',').filter((r): r is Runtime => r === 'node' || r === 'workers');
/** Every request must be answered or closed within this: the tenants' 2 s body deadline plus a wide margin. */
const DEADLINE_MS = 10_000;

const INFERENCE = ['/v1/chat/completions', '/v1/completions', '/v1/responses', '/v1/embeddings'];

let pool: Simulators;
let workers: Promise<Target> | undefined;

beforeAll(async () => {
  pool = await startSimulators(3);
  // The local Workers runtime takes a few seconds to start: let it while the Node runtime is fuzzed.
  if (RUNTIMES.includes('workers')) workers = startWorkersTarget(pool);
  workers?.catch(() => {});
}, 60_000);

afterAll(async () => {
  await (await workers?.catch(() => undefined))?.stop();
  await pool?.stop();
});

/** The simulator's own status for the same body, sent straight to it. */
async function simulatorStatus(r: FuzzRequest): Promise<number | null> {
  const path = INFERENCE.find((p) => r.target.includes(p.slice(4)));
  if (!path) return null;
  const res = await fetch(`${pool.urls[0]}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: r.body, signal: AbortSignal.timeout(DEADLINE_MS) }).catch(() => null);
  await res?.arrayBuffer();
  return res?.status ?? null;
}

async function fuzz(target: Target): Promise<Figures> {
  const figures = new Figures(target.runtime);
  /** Every violation in full, written next to the router's log when FUZZ_LOG_DIR is set. */
  const all: string[] = [];
  const client = sender(target.url, DEADLINE_MS);
  const ctx: JudgeContext = { runtime: target.runtime, simulatorStatus };
  const property = fc.asyncProperty(fc.array(fuzzRequest, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
    figures.batches++;
    const outcomes = await Promise.all(batch.map((r) => client.send(r)));
    const found: string[] = [];
    let failing = 0;
    const note = (p: Violation['property'], message: string, line: string) => {
      failing++;
      found.push(`${p}: ${message}${line}`);
    };
    for (const [i, r] of batch.entries()) {
      const verdict = await judge(ctx, r, outcomes[i]!);
      figures.add(r, outcomes[i]!, verdict);
      for (const v of verdict.violations) note(v.property, v.message, `\n    request ${i} of run ${figures.batches - 1}: ${describeRequest(r)}`);
    }
    for (const tenant of ['b', 'a'] as const) {
      const problem = await servesTenant(target.url, tenant);
      if (problem) {
        figures.violation('d: others not served', problem, () => problem);
        note('d: others not served', problem, ` (after run ${figures.batches - 1})`);
      }
    }
    const busy = await inflightDrained(target.url);
    if (busy) {
      figures.violation('d: in-flight not 0', busy, () => busy);
      note('d: in-flight not 0', busy, ` (after run ${figures.batches - 1})`);
    }
    all.push(...found);
    if (failing && !KEEP_GOING) throw new Error(`${failing} violation(s) in this batch:\n${found.slice(0, 5).join('\n')}`);
  });
  const details = await fc.check(property, { seed: SEED, path: PATH, numRuns: Math.ceil(REQUESTS / BATCH), endOnFailure: !SHRINK });
  await client.close();
  if (env.FUZZ_LOG_DIR) {
    writeFileSync(join(env.FUZZ_LOG_DIR, `fuzz-${target.runtime}.log`), target.log());
    writeFileSync(join(env.FUZZ_LOG_DIR, `fuzz-${target.runtime}-violations.txt`), all.join('\n\n'));
  }
  const logged = target.log().split('\n').filter((l) => /kvroute: (unexpected error|deferred task failed)|Uncaught/.test(l));
  console.log(figures.report([`kvroute's own "unexpected error" / uncaught log lines: ${logged.length}`, ...[...new Set(logged.map((l) => stripVTControlCharacters(l).trim().slice(0, 200)))].slice(0, 10).map((l) => `  ${l}`)]));
  if (details.failed) {
    throw new Error(
      `fuzz property failed on ${target.runtime}: seed ${details.seed}, path "${details.counterexamplePath}" ` +
        `(replay: FUZZ_SEED=${details.seed} FUZZ_PATH="${details.counterexamplePath}" FUZZ_RUNTIMES=${target.runtime} npx vitest run --project e2e test/e2e/fuzz)\n` +
        `${(details.errorInstance as Error | null)?.message ?? ''}`,
    );
  }
  return figures;
}

for (const runtime of RUNTIMES) {
  describe(`HTTP fuzz, ${runtime} runtime`, () => {
    let target: Target;
    beforeAll(async () => {
      target = runtime === 'node' ? await startNodeTarget(pool) : await workers!;
    }, 90_000);
    afterAll(async () => {
      if (runtime === 'node') await target?.stop();
    });

    it(`${REQUESTS} generated requests (seed ${SEED}): no kvroute 5xx, no hang, OpenAI error bodies, others still served`, async () => {
      console.log(`fuzz ${runtime}: seed ${SEED}, ${REQUESTS} requests in batches of ${BATCH}`);
      const figures = await fuzz(target);
      expect(figures.generated).toBeGreaterThanOrEqual(REQUESTS);
      expect([...figures.violations.keys()]).toEqual([]);
    }, 60_000 + REQUESTS * 200);
  });
}
