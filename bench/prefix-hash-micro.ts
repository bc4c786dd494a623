// Micro-benchmark of the router's prefix hashing on a 50k-character prompt (goal: <= 50 us per request).
//   npx tsx bench/prefix-hash-micro.ts
import { affinityConfigSchema } from '../src/config/affinity.ts';
import { prefixHashes } from '../src/routing/prefix-hash.ts';
import { hashString } from '../src/util/hash.ts';

const defaults = affinityConfigSchema.parse({});
const words = 'the quick brown fox jumps over the lazy dog while the router hashes a long prompt '.split(' ');
const text = (n: number, salt: number) => {
  let s = '';
  for (let i = 0; s.length < n; i++) s += `${words[(i * 7 + salt) % words.length]} `;
  return s.slice(0, n);
};

function bench(label: string, body: (i: number) => unknown, opts: { blockChars: number; maxBlocks: number }): void {
  const bodies = Array.from({ length: 64 }, (_, i) => body(i));
  for (let i = 0; i < 2000; i++) prefixHashes(bodies[i % 64], { ...opts, model: 'llama' }); // warm up the JIT
  const rounds = 20_000;
  const t0 = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < rounds; i++) sink ^= prefixHashes(bodies[i % 64], { ...opts, model: 'llama' }).hashes[0] ?? 0;
  const us = Number(process.hrtime.bigint() - t0) / 1000 / rounds;
  console.log(`| ${label} | ${opts.blockChars} x ${opts.maxBlocks} | ${us.toFixed(1)} us |${sink === 0.5 ? '' : ''}`);
}

console.log('| request (50,000 characters) | blockChars x maxBlocks | time per request |');
console.log('|---|---|---|');
const completions = (i: number) => ({ model: 'm', prompt: text(50_000, i) });
const chat = (i: number) => ({
  model: 'm',
  messages: [
    { role: 'system', content: text(8_000, i) },
    ...Array.from({ length: 20 }, (_, k) => ({ role: k % 2 ? 'assistant' : 'user', content: text(2_100, i + k) })),
  ],
});
bench('completions prompt', completions, defaults);
bench('chat, 21 messages', chat, defaults);
bench('completions prompt, no cap', completions, { blockChars: defaults.blockChars, maxBlocks: 1000 });
bench('chat, 21 messages, no cap', chat, { blockChars: defaults.blockChars, maxBlocks: 1000 });

// Reference on the same machine and moment: the shared hashString over a flat 50,000-character string, once.
{
  const flat = text(50_000, 3);
  for (let i = 0; i < 500; i++) hashString(flat, i);
  const t0 = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < 5_000; i++) sink ^= hashString(flat, i);
  const us = Number(process.hrtime.bigint() - t0) / 1000 / 5_000;
  console.log(`| reference: hashString over 50,000 characters, one pass | - | ${us.toFixed(1)} us |${sink === 0.5 ? '' : ''}`);
}
