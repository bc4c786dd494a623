// `kvroute replay --e2e --backend-urls`: the routing lab through the real router onto engines it did not start
// (two `kvroute engine` processes, 2 slots, 1 thread), run as a user runs it (the CLI, a generated agentic trace
// written to a file). What it reports must be what the engines did: its prompt tokens are what the engines
// tokenized (the byte-level model: one token per character, plus BOS and the leading space), its processed
// tokens equal the growth of the engines' own counters, per backend and in total, and the router recorded a
// receipt for every response. Counts only, never times.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngineProcesses, type EngineProcesses } from '../../../gpu-backends/llama-engine/processes.ts';
import { generateAgenticWorkload } from '../../../scripts/gen-agentic-workload.ts';
import { replayE2e } from '../../../bench/routing-lab/e2e.ts';
import type { ReplayResult } from '../../../bench/real-engine/summary.ts';
import { previousTurns } from '../../../bench/routing-lab/previous-turns.ts';
import { traceToJsonl } from '../../../bench/routing-lab/trace.ts';
import { TEST_MODELS_DIR } from './helpers.ts';

const run = promisify(execFile);
const BIN = join(process.cwd(), 'bin', 'kvroute.mjs');
const CHARS_PER_TOKEN = 0.25;
// 24 agent steps of 10 tenants (shared tool definitions, growing contexts): 90-750 characters each.
const RECORDS = generateAgenticWorkload({ seed: 3, requests: 24, sessionRate: 0.1 });

let engines: EngineProcesses;
let dir: string;
let trace: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kvroute-replay-'));
  trace = join(dir, 'agentic.jsonl');
  writeFileSync(trace, traceToJsonl(RECORDS));
  engines = await startEngineProcesses(2, { slots: 2, threads: 1, context: 2048, modelsDir: TEST_MODELS_DIR });
}, 180_000);
afterAll(async () => {
  await engines?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };

async function replay(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, 'replay', '--trace', trace, ...args], { env, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

describe('kvroute replay --e2e --backend-urls (real engines it did not start)', () => {
  it('reports the engines\' own prompt, cached and processed tokens, which agree with their counters per backend', async () => {
    const args = ['--e2e', '--backend-urls', engines.urls.join(','), '--engine', 'llama-cpp', '--policy', 'round-robin'];
    const res = await replay([...args, '--chars-per-token', String(CHARS_PER_TOKEN), '--max-tokens', '4', '--time-scale', '20', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const r = JSON.parse(res.stdout.trim().split('\n').at(-1)!) as ReplayResult;

    expect(r).toMatchObject({ mode: 'e2e', engine: 'llama-cpp', policy: 'round-robin', requests: 24, failed: 0, backends: 2, speedup: 1, responsesWithReceipt: 24 });
    // Prompts sized for the byte-level vocabulary: round(input_length x 0.25) characters, + BOS and the leading space.
    expect(r.promptTokens).toBe(RECORDS.reduce((a, x) => a + Math.round(x.input_length * CHARS_PER_TOKEN) + 2, 0));
    // Agent steps extend their previous step and tenants share tool definitions: the engines' slots served some.
    expect(r.cachedTokens).toBeGreaterThan(0);
    expect(r.processedPromptTokens).toBe(r.promptTokens - r.cachedTokens);
    // Nobody else sends to these engines: their counters grew by exactly what the receipts say they processed.
    expect(r.engineProcessedPromptTokens).toBe(r.processedPromptTokens);
    expect(r.engineCountersError).toBeUndefined();
    // Round-robin from one router over two healthy backends: 12 each.
    expect(r.perBackendShare).toEqual([0.5, 0.5]);
    expect(r.busiestShare).toBe(1);
    expect(r.busiestRequestShare).toBe(0.5);
    for (const b of r.perBackendHitRate) {
      expect(b).toMatchObject({ responses: 12, withReceipt: 12 });
      expect(b.promptTokens - b.cachedTokens).toBe(b.engineProcessedPromptTokens);
      expect(b.engine).toBeCloseTo(b.receipts, 12);
    }
    expect(r.perBackendHitRate.reduce((a, b) => a + b.promptTokens, 0)).toBe(r.promptTokens);
    expect(r.ttftP50Ms).toBeGreaterThan(0);
    expect(r.ttftP50Ms).toBeLessThanOrEqual(r.ttftP90Ms);
    expect(r.ttftP90Ms).toBeLessThanOrEqual(r.ttftP99Ms);
  }, 150_000);

  it('with turns waiting, an agent\'s next step goes out only once its previous step\'s answer has arrived', async () => {
    // The whole trace squeezed into about a second: at its trace times, steps would go out before their previous one ended.
    const previous = previousTurns(RECORDS);
    expect(previous.filter((p) => p >= 0).length).toBeGreaterThan(4);
    const r = await replayE2e(RECORDS, {
      policy: 'round-robin', backends: 2, replicas: 1, capacityTokens: 4096, timeScale: 1000, blockChars: 128, maxBlocks: 128,
      backendUrls: engines.urls, engine: 'llama-cpp', charsPerToken: CHARS_PER_TOKEN, maxTokens: 4, turnsWait: true, keepRequests: true,
    });
    expect(r.failed).toBe(0);
    const served = r.perRequest!.map((x) => (x.ok ? x : expect.unreachable(JSON.stringify(x))));
    RECORDS.forEach((_, i) => {
      const p = previous[i]!;
      if (p >= 0) expect(served[i]!.arrival).toBeGreaterThanOrEqual(served[p]!.arrival + served[p]!.e2e);
    });
  }, 60_000);

  it('refuses what it cannot run, saying what to fix', async () => {
    const noE2e = await replay(['--backend-urls', engines.urls.join(',')]);
    expect(noE2e.code).toBe(1);
    expect(noE2e.stderr).toMatch(/need --e2e/);
    const kind = await replay(['--e2e', '--backend-urls', engines.urls.join(','), '--engine', 'llamacpp']);
    expect(kind.stderr).toMatch(/--engine must be one of vllm, sglang, tgi, llama-cpp, openai-compatible, got 'llamacpp'/);
    const url = await replay(['--e2e', '--backend-urls', 'localhost:8080']);
    expect(url.stderr).toMatch(/must be an http or https URL/);
    // A port where nothing listens (the engines' own port, once it is closed, is not known free: use port 1).
    const down = await replay(['--e2e', '--backend-urls', 'http://127.0.0.1:1', '--engine', 'llama-cpp']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/backends not ready .*http:\/\/127\.0\.0\.1:1\/health/);
    const cpt = await replay(['--e2e', '--backend-urls', engines.urls.join(','), '--chars-per-token', '8']);
    expect(cpt.stderr).toMatch(/--chars-per-token must be more than 0 and at most 4/);
  }, 60_000);
});
