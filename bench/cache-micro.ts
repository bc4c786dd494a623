// Micro-benchmark of the caches on the request path: the tenant directory's authenticate() for a known key (key
// cache + compiled-tenant cache, both hits, as nearly every request is), the memoised backend-id hash the
// policies call per candidate, and the Workers KV tenant read the directory makes once per TTL (a fresh JSON
// object each time, as KV returns; the record's version checked, its config parsed only for a new version). Compares the working tree with another checkout side by side in one process
// (interleaved rounds, median of the rounds), so a change is measured before and after on the same noisy machine.
//
//   git archive <ref> | tar -x -C /tmp/kv-base && ln -s "$PWD/node_modules" /tmp/kv-base/ && \
//   npx tsx bench/cache-micro.ts --base /tmp/kv-base
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseFlags } from '../src/util/args.ts';

const f = parseFlags(process.argv.slice(2), {
  base: { type: 'string' },
  rounds: { type: 'string', default: '15' },
  calls: { type: 'string', default: '200000' },
});
const calls = Number(f.calls);

interface Checkout {
  authenticate: (authorization: string) => Promise<unknown>;
  idHash: (id: string) => number;
  kvRead: () => Promise<unknown>;
}

/** A module of a checkout, typed as this tree's (the APIs measured are the same in both). */
const at = async <M>(root: string, path: string) => (await import(pathToFileURL(resolve(root, path)).href)) as M;

async function load(root: string): Promise<Checkout> {
  const { parseTenantConfig } = await at<typeof import('../src/config/schema.ts')>(root, 'src/config/schema.ts');
  const { defaultPolicyFactory } = await at<typeof import('../src/routing/policy-factory.ts')>(root, 'src/routing/policy-factory.ts');
  const { TenantDirectory } = await at<typeof import('../src/tenants/directory.ts')>(root, 'src/tenants/directory.ts');
  const { sha256Hex } = await at<typeof import('../src/tenants/keys.ts')>(root, 'src/tenants/keys.ts');
  const { MemoryTenantStore } = await at<typeof import('../src/tenants/store.ts')>(root, 'src/tenants/store.ts');
  const { idHasher } = await at<typeof import('../src/util/hash.ts')>(root, 'src/util/hash.ts');
  const { KvTenantStore } = await at<typeof import('../src/workers/kv-tenant-store.ts')>(root, 'src/workers/kv-tenant-store.ts');
  const store = new MemoryTenantStore();
  const r = parseTenantConfig({ models: { m: { pool: 'p' } }, pools: { p: { backends: [{ id: 'b', url: 'http://127.0.0.1:1' }] } } });
  if (!r.ok) throw new Error(r.problems.join('; '));
  for (let t = 0; t < 16; t++) {
    await store.putTenant(`t${t}`, r.value);
    await store.putKey({ keyId: 'k', tenantId: `t${t}`, hash: await sha256Hex(`key-${t}`), createdAt: '' });
  }
  const directory = new TenantDirectory(store, defaultPolicyFactory, 60_000);
  const recordText = JSON.stringify(await store.getTenant('t0'));
  const kv = { get: async () => JSON.parse(recordText) as unknown } as unknown as KVNamespace;
  const kvStore = new KvTenantStore({ kv, writer: () => {
    throw new Error('unused');
  } });
  return { authenticate: (a) => directory.authenticate(a), idHash: idHasher(7), kvRead: () => kvStore.getTenant('t0') };
}

const headers = Array.from({ length: 16 }, (_, t) => `Bearer key-${t}`);
const ids = Array.from({ length: 8 }, (_, i) => `backend-${i}`);

/** Nanoseconds per authenticate() of a cached key (16 tenants' keys in turn). */
async function authenticate(c: Checkout): Promise<number> {
  const n = calls / 4;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await c.authenticate(headers[i & 15]!);
  return Number(process.hrtime.bigint() - t0) / n;
}

/** Nanoseconds per memoised id hash (8 backend ids, as a policy hashes its candidates). */
function idHash(c: Checkout): number {
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) sink ^= c.idHash(ids[i & 7]!);
  const ns = Number(process.hrtime.bigint() - t0) / calls;
  return sink === 0.5 ? -1 : ns;
}

/** Nanoseconds per KV tenant read (JSON parse of the stored record included, as KV does it). */
async function kvRead(c: Checkout): Promise<number> {
  const n = calls / 20;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await c.kvRead();
  return Number(process.hrtime.bigint() - t0) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const current = await load('.');
const base = f.base ? await load(f.base) : undefined;
const cases: [string, (c: Checkout) => number | Promise<number>][] = [
  ['authenticate, cached key (ns/call)', authenticate],
  ['backend id hash, memoised (ns/call)', idHash],
  ['Workers KV tenant read, same version (ns/call)', kvRead],
];
console.log(`| case | this tree |${base ? ` base ${f.base} | ratio |` : ''}`);
console.log(`|---|---|${base ? '---|---|' : ''}`);
for (const [name, run] of cases) {
  const a: number[] = [];
  const b: number[] = [];
  await run(current); // warm up the JIT
  if (base) await run(base);
  for (let k = 0; k < Number(f.rounds); k++) {
    a.push(await run(current));
    if (base) b.push(await run(base));
  }
  const ma = median(a);
  console.log(`| ${name} | ${ma.toFixed(0)} |${base ? ` ${median(b).toFixed(0)} | ${(ma / median(b)).toFixed(2)} |` : ''}`);
}
