// The engines an e2e replay sends to: a simulator pool it starts itself (`kvroute sim`, one engine per backend,
// `speedup` times faster than the wall clock), or engines that already run somewhere (`--backend-urls`), which it
// neither starts nor stops and which run in real time.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EngineKind } from '../../gpu-backends/adapters/index.ts';
import { freePortRange } from '../../src/util/ports.ts';

const BIN = fileURLToPath(new URL('../../bin/kvroute.mjs', import.meta.url));

export interface LabBackends {
  urls: string[];
  /** Engine kind the router is configured with (and the replay reads receipts and counters with). */
  engine: EngineKind;
  /** Simulated ms per wall ms (1 for real engines). */
  speedup: number;
  /** Sent as `Authorization: Bearer` to the engines (the router forwards with it, probes and counters too). */
  apiKey?: string;
  close(): void;
}

export async function startSimulatorBackends(n: number, o: { speedup: number; capacityTokens: number }): Promise<LabBackends> {
  const base = await freePortRange(n);
  const sim = spawn(
    process.execPath,
    [BIN, 'sim', '--backends', String(n), '--base-port', String(base), '--time-scale', String(o.speedup), '--capacity-tokens', String(o.capacityTokens)],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' } },
  );
  let simErr = '';
  sim.stderr.on('data', (d) => (simErr += d));
  const urls = Array.from({ length: n }, (_, i) => `http://127.0.0.1:${base + i}`);
  const backends: LabBackends = { urls, engine: 'vllm', speedup: o.speedup, close: () => sim.kill('SIGTERM') };
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (sim.exitCode !== null) throw new Error(`kvroute sim exited ${sim.exitCode}: ${simErr}`);
      const ready = await Promise.all(urls.map((u) => fetch(`${u}/health`).then((r) => r.ok, () => false)));
      if (ready.every(Boolean)) return backends;
      if (Date.now() > deadline) throw new Error(`kvroute sim did not become ready: ${simErr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    backends.close();
    throw e;
  }
}

/** Engines given by URL; each must answer its engine's health path before the replay starts. */
export async function externalBackends(urls: readonly string[], engine: EngineKind, healthPath: string, apiKey?: string): Promise<LabBackends> {
  const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  const problems = await Promise.all(
    urls.map((u) =>
      fetch(`${u}${healthPath}`, { headers, signal: AbortSignal.timeout(10_000) }).then(
        (r) => (r.ok ? null : `${u}${healthPath} answered ${r.status}`),
        (e: unknown) => `${u}${healthPath}: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`,
      ),
    ),
  );
  const failed = problems.filter(Boolean);
  if (failed.length) throw new Error(`backends not ready (start them first, or fix --backend-urls): ${failed.join('; ')}`);
  return { urls: [...urls], engine, speedup: 1, apiKey, close: () => {} };
}
