// How much of what a Node target allocates V8 promotes to its old generation under the overhead benchmark's load.
// A proxy's per-request objects should die young: node-floor promotes about 0.2% of what it allocates. A router
// that promotes much more pays for it twice, copying in every young collection and marking in full ones (on Node,
// a promotion loop once cost kvroute about a quarter of its CPU; docs/benchmarks.md, "Garbage collection on Node").
// Each target runs with V8's --trace-gc-nvp; the share is promoted bytes over allocated bytes, summed over the
// young collections (`gc=s`) after the first third of the load (the first ones include start-up and the JIT's
// warm-up). Nothing is pinned: the share, unlike CPU time, does not depend on what else the machine runs.
//
//   npx tsx bench/overhead/gc-share.ts [--targets node-floor,kvroute-node] [--requests 20000] [--connections 50]
import autocannon from 'autocannon';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFlags, num } from '../../src/util/args.ts';
import { benchBody } from './body.ts';
import { promotedShare } from './gc-log.ts';
import { canConnect, freePort, killAllSync, start, stop, waitReady } from './procs.ts';
import { TARGETS, type Ctx } from './targets.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const f = parseFlags(process.argv.slice(2), { targets: { type: 'string' }, requests: { type: 'string' }, connections: { type: 'string' } });
const targets = (f.targets ?? 'node-floor,kvroute-node').split(',').filter(Boolean);
const requests = num('requests', f.requests, 20_000);
const connections = num('connections', f.connections, 50);
for (const name of targets) {
  if (!TARGETS.some((t) => t.name === name)) throw new Error(`unknown target '${name}' (${TARGETS.map((t) => t.name).join(', ')})`);
  if (!name.includes('node')) throw new Error(`'${name}' is not a Node target: only Node targets take V8's --trace-gc-nvp here`);
}
process.on('exit', () => killAllSync());

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kvb-gc-'));
  const upPort = await freePort();
  const up = start('upstream', process.execPath, ['--import', 'tsx', path.join(root, 'bench/overhead/upstream.ts'), '--port', String(upPort)], { cwd: root, logDir: tmp });
  await waitReady('upstream', up, () => canConnect(upPort), 15_000);
  const ctx: Ctx = { root, kvrouteRoot: root, upstreamPort: upPort, tmp };
  process.env.KVB_ROUTER_NODE_FLAGS = `${process.env.KVB_ROUTER_NODE_FLAGS ?? ''} --trace-gc-nvp`;
  for (const name of targets) {
    const t = await TARGETS.find((d) => d.name === name)!.start(ctx);
    const r = await autocannon({ url: t.origin + t.path, method: 'POST', headers: t.headers, body: benchBody(), connections, amount: requests, timeout: 10 });
    await stop(t.proc!.proc);
    const s = promotedShare(fs.readFileSync(t.proc!.log, 'utf8'));
    const share = s.allocated ? ((100 * s.promoted) / s.allocated).toFixed(1) : 'n/a';
    console.log(`${name}: ${share}% of allocated bytes promoted (${s.collections} young collections; ${r['2xx']} of ${requests} requests answered 2xx)`);
  }
  await stop(up.proc);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
