// Minimal reproduction: does a Worker hear that its client left in the middle of a relayed stream?
// Plain workerd (no Miniflare, no kvroute): an upstream SSE server on Node, relay-worker.mjs in workerd, and
// clients that read a few events and then abort. Prints how many streams ended which way.
//   node bench/soak/workerd-client-gone/run.mjs [clients 50] [rounds 4] [--timer-ms 5000] [--pipe | --write]
// Ports 18271 (upstream) and 18272 (workerd). Stops by itself.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const here = import.meta.dirname;
const args = process.argv.slice(2);
const timerAt = args.indexOf('--timer-ms');
const timerMs = timerAt >= 0 ? args.splice(timerAt, 2)[1] : '';
const pipeAt = args.indexOf('--pipe');
const pipe = pipeAt >= 0 ? (args.splice(pipeAt, 1), '1') : '';
const writeAt = args.indexOf('--write');
const write = writeAt >= 0 ? (args.splice(writeAt, 1), '1') : '';
const [clients = 50, rounds = 4] = args.map(Number);
const WORKERD = join(here, '../../../node_modules/@cloudflare/workerd-linux-64/bin/workerd');

const upstream = http
  .createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let n = 0;
    const t = setInterval(() => (n++ > 300 ? (clearInterval(t), res.end('data: [DONE]\n\n')) : res.write(`data: ${'y'.repeat(300)} ${n}\n\n`)), 10);
    res.on('close', () => clearInterval(t));
  })
  .listen(18271, '127.0.0.1');

const dir = mkdtempSync(join(tmpdir(), 'workerd-client-gone-'));
writeFileSync(join(dir, 'worker.mjs'), readFileSync(join(here, 'relay-worker.mjs')));
writeFileSync(
  join(dir, 'config.capnp'),
  `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .w), (name = "net", network = (allow = ["public", "private", "local"])) ],
  sockets = [ (name = "http", address = "127.0.0.1:18272", http = (), service = "main") ],
);
const w :Workerd.Worker = (
  modules = [ (name = "worker", esModule = embed "worker.mjs") ],
  compatibilityDate = "2026-04-01",
  compatibilityFlags = ["enable_request_signal"],
  bindings = [ (name = "UPSTREAM", text = "http://127.0.0.1:18271"), (name = "TIMER_MS", text = "${timerMs}"), (name = "PIPE", text = "${pipe}"), (name = "WRITE", text = "${write}") ],
  globalOutbound = "net",
);
`,
);
const endings = new Map();
const wd = spawn(WORKERD, ['serve', '--experimental', join(dir, 'config.capnp')], { stdio: ['ignore', 'pipe', 'inherit'] });
wd.stdout.on('data', (d) => {
  for (const m of String(d).matchAll(/END \d+ (\w+)/g)) endings.set(m[1], (endings.get(m[1]) ?? 0) + 1);
});
await new Promise((r) => setTimeout(r, 2000));

for (let k = 0; k < rounds; k++) {
  await Promise.all(
    Array.from({ length: clients }, async (_, j) => {
      const i = k * clients + j;
      const ac = new AbortController();
      try {
        const res = await fetch(`http://127.0.0.1:18272/?id=${i}`, { signal: ac.signal });
        const r = res.body.getReader();
        for (let chunks = 0; !(await r.read()).done; ) if (++chunks >= 2 + (i % 7)) return ac.abort();
      } catch {
        // our own abort
      }
    }),
  );
}
await new Promise((r) => setTimeout(r, 6000));
wd.kill('SIGTERM');
upstream.close();
const heard = [...endings.values()].reduce((a, b) => a + b, 0);
console.log(`${clients * rounds} streams whose client left: ${JSON.stringify(Object.fromEntries(endings))}; no word at all: ${clients * rounds - heard}`);
