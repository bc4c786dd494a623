// Load clients for bench/overhead that autocannon does not cover, over undici.Pool with microsecond timing:
// - streamLoad: closed loop at fixed concurrency over SSE responses, time to first body byte (TTFB) and full
//   stream time, and a check that every stream ends with `data: [DONE]`.
// - rateLoad: open loop at a fixed request rate far below saturation, full response latency. Measures what a
//   proxy adds when it is not queueing (autocannon's histogram has 1 ms resolution, too coarse for that).
import { Pool } from 'undici';
import { percentile } from './stats.ts';

export interface Target {
  origin: string; // http://127.0.0.1:PORT
  path: string;
  headers: Record<string, string>;
}

export interface StreamResult {
  streams: number;
  streamsPerSec: number;
  errors: number;
  incomplete: number;
  ttfbP50: number; // ms
  ttfbP99: number;
  totalP50: number;
  errorSample?: string;
}

export interface RateResult {
  requests: number;
  errors: number;
  p50: number; // ms
  p99: number;
  late: number; // requests sent more than 5 ms behind schedule (the client could not keep the rate)
  errorSample?: string;
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

const DONE = Buffer.from('data: [DONE]');

export async function streamLoad(t: Target, body: string, concurrency: number, durationMs: number, timeoutMs = 10_000): Promise<StreamResult> {
  const pool = new Pool(t.origin, { connections: concurrency, pipelining: 1, keepAliveTimeout: 30_000 });
  const ttfb: number[] = [];
  const total: number[] = [];
  let errors = 0;
  let incomplete = 0;
  let errorSample: string | undefined;
  const start = nowMs();
  const deadline = start + durationMs;
  const worker = async () => {
    while (nowMs() < deadline) {
      const t0 = nowMs();
      try {
        const res = await pool.request({ path: t.path, method: 'POST', headers: t.headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
        if (res.statusCode !== 200) {
          errors++;
          const text = await res.body.text();
          errorSample ??= `HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
          continue;
        }
        let first = -1;
        let tail: Buffer = Buffer.alloc(0);
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          if (first < 0 && chunk.length > 0) first = nowMs() - t0;
          tail = chunk.length >= 32 ? chunk : Buffer.concat([tail, chunk]).subarray(-64);
        }
        const done = tail.includes(DONE);
        if (first < 0 || !done) {
          incomplete++;
          errorSample ??= `stream ended without [DONE]: …${tail.toString().slice(-80)}`;
          continue;
        }
        ttfb.push(first);
        total.push(nowMs() - t0);
      } catch (err) {
        errors++;
        errorSample ??= String(err);
        await new Promise((r) => setTimeout(r, 10)); // do not spin on a dead target
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (nowMs() - start) / 1000;
  await pool.close().catch(() => {});
  return {
    streams: ttfb.length,
    streamsPerSec: ttfb.length / elapsed,
    errors,
    incomplete,
    ttfbP50: percentile(ttfb, 50),
    ttfbP99: percentile(ttfb, 99),
    totalP50: percentile(total, 50),
    errorSample,
  };
}

export async function rateLoad(t: Target, body: string, rate: number, durationMs: number, connections = 16, timeoutMs = 10_000): Promise<RateResult> {
  const pool = new Pool(t.origin, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  const lat: number[] = [];
  let errors = 0;
  let late = 0;
  let errorSample: string | undefined;
  const n = Math.max(1, Math.round((rate * durationMs) / 1000));
  const interval = 1000 / rate;
  const inflight: Promise<void>[] = [];
  const one = async () => {
    const t0 = nowMs();
    try {
      const res = await pool.request({ path: t.path, method: 'POST', headers: t.headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      const buf = await res.body.arrayBuffer();
      if (res.statusCode !== 200 || buf.byteLength === 0) {
        errors++;
        errorSample ??= `HTTP ${res.statusCode}: ${Buffer.from(buf).toString().slice(0, 200)}`;
        return;
      }
      lat.push(nowMs() - t0);
    } catch (err) {
      errors++;
      errorSample ??= String(err);
    }
  };
  const start = nowMs();
  for (let i = 0; i < n; i++) {
    const due = start + i * interval;
    const wait = due - nowMs();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    else if (wait < -5) late++;
    inflight.push(one());
  }
  await Promise.all(inflight);
  await pool.close().catch(() => {});
  return { requests: lat.length, errors, p50: percentile(lat, 50), p99: percentile(lat, 99), late, errorSample };
}

/** One request, for start-up checks: returns status and body text. */
export async function once(t: Target, body: string, timeoutMs = 5_000): Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }> {
  const pool = new Pool(t.origin, { connections: 1 });
  try {
    const res = await pool.request({ path: t.path, method: 'POST', headers: t.headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    return { status: res.statusCode, text: await res.body.text(), headers: res.headers };
  } finally {
    await pool.close().catch(() => {});
  }
}
