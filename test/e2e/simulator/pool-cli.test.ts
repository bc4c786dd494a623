// `kvroute sim` as a user runs it: a real process that prints its URLs, serves the openai SDK, and exits 0 on
// SIGTERM; and queueing seen through /metrics when a backend is pushed past its limits.
import { spawn } from 'node:child_process';
import { request, type ClientRequest } from 'node:http';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { adapterFor } from '../../../gpu-backends/adapters/index.ts';
import { startSimPool } from '../../../gpu-backends/simulator/pool.ts';
import { eventually, promptOf } from './helpers.ts';

const bin = fileURLToPath(new URL('../../../bin/kvroute.mjs', import.meta.url));

describe('kvroute sim', () => {
  it('starts a pool the openai SDK streams from, with per-backend faults, and exits 0 on SIGTERM', async () => {
    const faults = JSON.stringify([null, null, { error: { rate: 1, status: 502 } }]);
    const child = spawn(process.execPath, [bin, 'sim', '--backends', '3', '--base-port', '0', '--time-scale', '20', '--faults', faults], {
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      await eventually(() => out.includes('ready:'), 600, 50);
      const urls = out.split('\n').filter((l) => l.startsWith('http://'));
      expect(urls).toHaveLength(3);
      const broken = await fetch(`${urls[2]}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"prompt":"x"}' });
      expect(broken.status).toBe(502);
      for (const url of urls.slice(0, 2)) {
        const sdk = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sim', maxRetries: 0 });
        const stream = await sdk.chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hello' }], max_tokens: 6, stream: true });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
        expect(text).toHaveLength(24);
      }
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('queueing past saturation, seen by the router through the vLLM adapter', () => {
  it('requests beyond max running sequences wait, and /metrics says so', async () => {
    const pool = await startSimPool({ backends: 1, basePort: 0, timeScale: 1, engine: { maxNumSeqs: 4 } });
    const b = pool.backends[0]!;
    const clients: ClientRequest[] = [];
    try {
      // node:http without an agent: one connection per request, nothing pooled or capped on the client side.
      for (let i = 0; i < 10; i++) {
        const body = JSON.stringify({ prompt: promptOf(256, `q${i}`), max_tokens: 100_000, ignore_eos: true, stream: true });
        const req = request(`${b.url}/v1/completions`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => res.resume());
        req.on('error', () => undefined);
        req.end(body);
        clients.push(req);
      }
      const vllm = adapterFor('vllm');
      await eventually(async () => {
        const load = vllm.parseLoad(await (await fetch(`${b.url}${vllm.metricsPath}`)).text());
        return load.running === 4 && load.waiting === 6 && load.kvUsage! > 0;
      });
    } finally {
      for (const req of clients) req.destroy();
      await pool.close();
    }
  });
});
