// Shows live drift through the API of a running router (`npm start` or `npm run start:node`):
//   1. switches the tenant to 1-minute drift windows, 2. sends normal traffic for one window, 3. freezes that
//   window as the baseline, 4. sends shifted traffic (prompts twice as long, temperature 0 instead of 0.7),
//   5. prints the drift report of the current window. Seeded, bounded, loopback only.
//   npx tsx scripts/drift-demo.ts --url http://127.0.0.1:8787 --key $KEY [--admin-token dev-admin-token] [--tenant demo]
import { parseFlags, num } from '../src/util/args.ts';

const f = parseFlags(process.argv.slice(2), {
  url: { type: 'string' },
  key: { type: 'string' },
  'admin-token': { type: 'string' },
  tenant: { type: 'string' },
  requests: { type: 'string' },
  model: { type: 'string' },
});
if (!f.url || !f.key) {
  console.error('usage: scripts/drift-demo.ts --url URL --key API_KEY [--admin-token T] [--tenant demo] [--requests 300] [--model llama-3.1-8b]');
  process.exit(2);
}
const base = f.url.replace(/\/$/, '');
const admin = { authorization: `Bearer ${f['admin-token'] ?? 'dev-admin-token'}`, 'content-type': 'application/json' };
const tenant = f.tenant ?? 'demo';
const model = f.model ?? 'llama-3.1-8b';
const perPhase = num('requests', f.requests, 300);
const WINDOW_MS = 60_000;

let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const WORDS = 'the a of to and in that is for it as with was on be by this are from or at an which have not but all can'.split(' ');
const prose = (words: number) => Array.from({ length: words }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ');

async function send(n: number, words: () => number, temperature: number): Promise<number> {
  let ok = 0;
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const r = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${f.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, temperature, max_tokens: 16, messages: [{ role: 'user', content: prose(words()) }] }),
      });
      await r.text();
      if (r.ok) ok++;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return ok;
}

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
const windowStart = (t: number) => Math.floor(t / WINDOW_MS) * WINDOW_MS;

const cur = (await (await fetch(`${base}/admin/tenants/${tenant}`, { headers: admin })).json<unknown>()) as { version: number; config: Record<string, unknown> };
const drift = { ...(cur.config.drift as object), windows: [{ name: '1m', size: '1m', retention: '1d' }], flushInterval: '2s', alertWindow: '1m' };
const put = await fetch(`${base}/admin/tenants/${tenant}`, { method: 'PUT', headers: { ...admin, 'if-match': `"${cur.version}"` }, body: JSON.stringify({ ...cur.config, drift }) });
if (!put.ok) throw new Error(`config update failed: ${put.status} ${await put.text()}`);
console.error('drift windows set to 1m; waiting for the next window to start ...');

await sleepUntil(windowStart(Date.now()) + WINDOW_MS + 500);
const baseStart = windowStart(Date.now());
const okA = await send(perPhase, () => 30 + Math.floor(rand() * 40), 0.7);
console.error(`baseline window: ${okA} normal requests (30-70 words, temperature 0.7)`);

await sleepUntil(baseStart + WINDOW_MS + 4_000); // window closed and flushed
const bl = await fetch(`${base}/admin/tenants/${tenant}/drift/baseline`, {
  method: 'PUT',
  headers: admin,
  body: JSON.stringify({ from: new Date(baseStart).toISOString(), to: new Date(baseStart + WINDOW_MS).toISOString(), label: 'drift-demo' }),
});
console.error(`baseline frozen: ${bl.status} ${(await bl.text()).slice(0, 120)}`);

const okB = await send(perPhase, () => 60 + Math.floor(rand() * 80), 0);
console.error(`current window: ${okB} shifted requests (60-140 words, temperature 0)`);
await new Promise((r) => setTimeout(r, 4_000)); // one flush interval and a margin

const report = (await (await fetch(`${base}/admin/tenants/${tenant}/drift?window=1m`, { headers: admin })).json<unknown>()) as {
  groups: { model: string; arm: string; status: string; features: { feature: string; status: string; psi: number | null; n: number; m: number }[] }[];
};
for (const g of report.groups) {
  console.log(`model=${g.model} arm=${g.arm || '-'} status=${g.status}`);
  for (const x of g.features) console.log(`  ${x.feature.padEnd(22)} ${x.status.padEnd(18)} psi=${x.psi === null ? '-' : x.psi.toFixed(3)} n=${x.n} m=${x.m}`);
}
const promptChars = report.groups.flatMap((g) => g.features).find((x) => x.feature === 'prompt_chars');
process.exit(promptChars?.status === 'major' ? 0 : 1);
