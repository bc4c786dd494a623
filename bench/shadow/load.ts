// Open-loop load for bench/shadow: requests leave on a fixed schedule (rate per second) whether or not earlier
// ones finished, so a slower router shows up as latency rather than as a lower offered rate (a closed loop
// would hide it). Half the requests stream; each is timed from send to the first body byte (TTFB) and to the
// end of the body, with the process's monotonic clock.
import type { Pool } from 'undici';

export interface Sample {
  stream: boolean;
  ttfbMs: number;
  totalMs: number;
}

export interface BlockResult {
  samples: Sample[];
  errors: number;
  /** Requests that left more than 5 ms behind schedule: the client itself could not keep the rate. */
  late: number;
  errorSample?: string;
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const DONE = Buffer.from('data: [DONE]');

/** A chat request; prompts vary (no two identical in a block) and `user` spreads keys over both arms. */
export function requestBody(model: string, i: number, stream: boolean, maxTokens: number): string {
  const topic = ['the export button', 'a mutex and a semaphore', 'quarterly revenue', 'an empty input', 'a contract clause'][i % 5];
  return JSON.stringify({
    model,
    messages: [
      { role: 'system', content: 'You are a concise assistant.' },
      { role: 'user', content: `Request ${i}: explain ${topic} in two sentences for reader ${i % 97}.` },
    ],
    max_tokens: maxTokens,
    user: `u${i % 64}`,
    stream,
    ...(stream ? { stream_options: { include_usage: true } } : {}),
  });
}

export interface BlockOptions {
  pool: Pool;
  headers: Record<string, string>;
  model: string;
  rate: number;
  durationMs: number;
  maxTokens: number;
  /** Request index offset, so prompts differ between blocks. */
  offset: number;
  timeoutMs?: number;
}

export async function runBlock(o: BlockOptions): Promise<BlockResult> {
  const samples: Sample[] = [];
  let errors = 0;
  let late = 0;
  let errorSample: string | undefined;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const one = async (i: number) => {
    const stream = i % 2 === 0;
    const body = requestBody(o.model, o.offset + i, stream, o.maxTokens);
    const t0 = nowMs();
    try {
      const res = await o.pool.request({ path: '/v1/chat/completions', method: 'POST', headers: o.headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      let first = -1;
      let tail = Buffer.alloc(0);
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        if (first < 0 && chunk.length > 0) first = nowMs() - t0;
        tail = Buffer.concat([tail, chunk]).subarray(-64);
      }
      const total = nowMs() - t0;
      if (res.statusCode !== 200 || first < 0 || (stream && !tail.includes(DONE))) {
        errors++;
        errorSample ??= `HTTP ${res.statusCode} (${stream ? 'stream' : 'json'}): …${tail.toString().slice(-80)}`;
        return;
      }
      samples.push({ stream, ttfbMs: first, totalMs: total });
    } catch (err) {
      errors++;
      errorSample ??= String(err);
    }
  };
  const n = Math.max(1, Math.round((o.rate * o.durationMs) / 1000));
  const interval = 1000 / o.rate;
  const inflight: Promise<void>[] = [];
  const start = nowMs();
  for (let i = 0; i < n; i++) {
    const wait = start + i * interval - nowMs();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    else if (wait < -5) late++;
    inflight.push(one(i));
  }
  await Promise.all(inflight);
  return { samples, errors, late, errorSample };
}
