// Micro-benchmark of reading a finished stream's usage and finish_reason from its kept tail (usageAndFinish, run
// once per streamed request after the response), beside the reading that parses every event of the tail in order.
//   WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false npx tsx bench/stream-tail-micro.ts
// Medians of 7 rounds, the two readings alternating; speed is measured here, never asserted in tests.
import { adapterFor } from '../gpu-backends/adapters/index.ts';
import { usageAndFinish } from '../src/drift/from-record.ts';
import { lastValuesWin } from '../test/unit/stream/helpers.ts';

const STREAM_TAIL_BYTES = 16_384; // what the router keeps of a stream's end (STREAM_TAIL_BYTES, src/core/inference.ts)
const event = (m: object) => `data: ${JSON.stringify(m)}\n\n`;

/** An OpenAI-style chat stream of `chunks` content chunks, a finish chunk and a usage chunk, as the router keeps it. */
function tail(chunks: number): string {
  let s = '';
  const chunk = (choices: object[], extra = {}) => event({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices, ...extra });
  for (let i = 0; i < chunks; i++) s += chunk([{ index: 0, delta: { content: ` token${i}` }, finish_reason: null }]);
  s += chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]);
  s += chunk([], { usage: { prompt_tokens: 300, completion_tokens: chunks, total_tokens: 300 + chunks, prompt_tokens_details: { cached_tokens: 256 } } });
  return (s + 'data: [DONE]\n\n').slice(-STREAM_TAIL_BYTES);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`node ${process.version}; µs per tail, median of 7 rounds`);
console.log('| content chunks | tail chars | every event in order | usageAndFinish (from the end) |');
console.log('|---:|---:|---:|---:|');
for (const chunks of [10, 60, 500]) {
  const text = tail(chunks);
  const reader = adapterFor('vllm');
  const us: Record<'every' | 'fromEnd', number[]> = { every: [], fromEnd: [] };
  for (let r = 0; r < 7; r++) {
    for (const [k, read] of [['every', () => lastValuesWin(text, reader)], ['fromEnd', () => usageAndFinish(text, reader)]] as const) {
      const n = 2000;
      const t = performance.now();
      for (let i = 0; i < n; i++) read();
      us[k].push(((performance.now() - t) * 1000) / n);
    }
  }
  console.log(`| ${chunks} | ${text.length} | ${median(us.every).toFixed(1)} | ${median(us.fromEnd).toFixed(1)} |`);
}
