// The router (Node runtime) in front of three real llama.cpp engines (`kvroute engine`: node-llama-cpp on the
// CPU, 4 slots each, 1 thread), a generated workload of shared-prefix conversations replayed once per policy
// with every slot erased in between: the default policy (prefix-affinity) gets more prompt tokens served from the
// engines' caches than round-robin. Counted from the engines' own receipts (usage.prompt_tokens_details.
// cached_tokens), which must agree with what the engines' /metrics say they evaluated; never timed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngineProcesses, type EngineProcesses } from '../../../gpu-backends/llama-engine/processes.ts';
import { LLAMA_ENGINE_KIND } from '../../../bin/commands/demo.ts';
import { parseTenantConfig } from '../../../src/config/schema.ts';
import { startNodeRouter } from '../../../routes/node.ts';
import { sha256Hex } from '../../../src/tenants/keys.ts';
import { MemoryTenantStore } from '../../../src/tenants/store.ts';
import { engineMetrics, post, TEST_MODELS_DIR, type ChatAnswer } from './helpers.ts';
import { sharedPrefixConversations, type ChatRequest } from './workload.ts';

const ENGINES = 3;
const SLOTS = 4;
const KEY = 'sk-engine-policies-0123456789';
const MODEL = 'tiny';
// 4 agents x 3 conversations = 12 conversations at a time, as many as the engines have slots together.
const WORKLOAD = sharedPrefixConversations({ groups: 4, conversations: 3, turns: 8, systemChars: 192, userChars: 24, seed: 7 });
const CONCURRENCY = 6;

let engines: EngineProcesses;
beforeAll(async () => {
  engines = await startEngineProcesses(ENGINES, { slots: SLOTS, threads: 1, context: 2048, modelsDir: TEST_MODELS_DIR });
}, 180_000);
afterAll(() => engines?.close());

interface RunResult {
  requests: number;
  failures: string[];
  promptTokens: number;
  cachedTokens: number;
  /** Sum over engines of the growth of llamacpp:prompt_tokens_total. */
  evaluatedByMetrics: number;
  perBackend: Record<string, number>;
}

async function eraseAllSlots(urls: readonly string[]): Promise<void> {
  for (const url of urls) {
    for (let id = 0; id < SLOTS; id++) {
      const r = await post(url, `/slots/${id}?action=erase`, {});
      if (!r.ok) throw new Error(`erasing slot ${id} of ${url}: ${r.status} ${await r.text()}`);
    }
  }
}

async function replay(policy: 'prefix-affinity' | 'round-robin', workload: readonly ChatRequest[]): Promise<RunResult> {
  await eraseAllSlots(engines.urls);
  const before = await Promise.all(engines.urls.map(engineMetrics));
  const store = new MemoryTenantStore();
  const parsed = parseTenantConfig({
    models: { [MODEL]: { pool: 'cpu' } },
    pools: {
      cpu: {
        backends: engines.urls.map((url, i) => ({ id: `e${i}`, url, engine: LLAMA_ENGINE_KIND })),
        // Short prompts want short hash blocks: the default 512 characters would hide a conversation's own turns.
        affinity: { policy, blockChars: 128 },
      },
    },
    timeouts: { firstByteMs: 120_000, idleMs: 120_000 },
    retry: { maxAttempts: 1 },
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  await store.putTenant('t', parsed.value);
  await store.putKey({ keyId: 'k', tenantId: 't', hash: await sha256Hex(KEY), createdAt: new Date().toISOString() });
  const router = await startNodeRouter({ store, port: 0, localDev: true, cacheTtlMs: 600_000 });
  const result: RunResult = { requests: 0, failures: [], promptTokens: 0, cachedTokens: 0, evaluatedByMetrics: 0, perBackend: {} };
  try {
    let next = 0;
    const worker = async () => {
      while (next < workload.length) {
        const r = workload[next++]!;
        const res = await fetch(`${router.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
          body: JSON.stringify({ model: MODEL, messages: r.messages, max_tokens: 2 }),
        });
        const body = await res.text();
        result.requests++;
        if (!res.ok) {
          result.failures.push(`${res.status} ${body.slice(0, 200)}`);
          continue;
        }
        const { usage } = JSON.parse(body) as ChatAnswer;
        result.promptTokens += usage.prompt_tokens;
        result.cachedTokens += usage.prompt_tokens_details.cached_tokens;
        const backend = res.headers.get('x-kvroute-backend') ?? '?';
        result.perBackend[backend] = (result.perBackend[backend] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    await router.close();
  }
  const after = await Promise.all(engines.urls.map(engineMetrics));
  result.evaluatedByMetrics = after.reduce((a, m, i) => a + m.prompt_tokens_total! - before[i]!.prompt_tokens_total!, 0);
  return result;
}

describe('router + llama.cpp engines: prefix-affinity against round-robin', () => {
  it(`serves more prompt tokens from the engines' caches with the default policy (${WORKLOAD.length} requests per policy)`, { timeout: 600_000 }, async () => {
    const rr = await replay('round-robin', WORKLOAD);
    const pa = await replay('prefix-affinity', WORKLOAD);
    const share = (r: RunResult) => `${r.cachedTokens}/${r.promptTokens} cached (${((100 * r.cachedTokens) / r.promptTokens).toFixed(1)}%), per backend ${JSON.stringify(r.perBackend)}`;
    console.log(`round-robin: ${share(rr)}\nprefix-affinity: ${share(pa)}`);
    for (const r of [rr, pa]) {
      expect(r.failures).toEqual([]);
      expect(r.requests).toBe(WORKLOAD.length);
      // The receipts are the engines' facts: what they did not serve from cache is what they evaluated.
      expect(r.evaluatedByMetrics).toBe(r.promptTokens - r.cachedTokens);
      // Every request carries the same prompt under either policy.
      expect(r.promptTokens).toBe(rr.promptTokens);
    }
    expect(pa.cachedTokens).toBeGreaterThan(rr.cachedTokens);
  });
});
