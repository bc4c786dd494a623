import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, it, expect } from 'vitest';
import type { AnalyticsEvent, ShadowPairEvent } from '../../../../src/analytics/event.ts';
import { analyticsEventSchema } from '../../../../src/analytics/event.ts';
import { legFromSummary, type LegOutcome } from '../../../../src/experiments/shadow/leg.ts';
import { ShadowLimiter } from '../../../../src/experiments/shadow/limiter.ts';
import { runShadowFlow, type ShadowFlowInput } from '../../../../src/experiments/shadow/orchestrate.ts';
import { runShadowLeg, SHADOW_HEADER, type ShadowSender } from '../../../../src/experiments/shadow/run.ts';

type SendReq = Parameters<ShadowSender['send']>[0];
const enc = new TextEncoder();
const sse = (...texts: string[]) => [
  ...texts.map((t) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: t }, finish_reason: null }] })}\n\n`),
  `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: texts.length } })}\n\n`,
  'data: [DONE]\n\n',
];

/** A response whose body stalls after `stallAfter` chunks; cancelling it ends a stalled read as a web stream does (done). */
function reply(status: number, chunks: string[], stallAfter = Infinity) {
  let i = 0;
  let cancelled = false;
  let wake: (() => void) | null = null;
  return {
    status,
    header: () => null,
    body: {
      read: () =>
        i >= stallAfter
          ? new Promise<Uint8Array | null>((r) => (cancelled ? r(null) : (wake = () => r(null))))
          : Promise.resolve(i < chunks.length ? enc.encode(chunks[i++]) : null),
      cancel: () => {
        cancelled = true;
        wake?.();
      },
      get cancelled() { return cancelled; },
    },
  };
}

let clock = 0;
const now = () => (clock += 1);

function recorder(handler: (req: SendReq) => ReturnType<ShadowSender['send']>) {
  const sent: SendReq[] = [];
  return { sent, send: (req: SendReq) => { sent.push(req); return handler(req); } };
}

const target = { pool: 'cand', backendId: 'c1', baseUrl: 'http://127.0.0.1:1', upstreamModel: 'cand-model' };
const body = { model: 'public', stream: true, messages: [{ role: 'user', content: 'hi' }] };

describe('runShadowLeg', () => {
  it('sends a marked copy of the request and reads the stream to the end', async () => {
    const r = recorder(async () => reply(200, sse('Hello', ' there')));
    const out = await runShadowLeg({ send: r.send, now }, { target, path: '/v1/chat/completions', body, headers: { authorization: 'Bearer static' }, kind: 'shadow', timeoutMs: 1000 });
    expect(r.sent[0]?.headers[SHADOW_HEADER]).toBe('1');
    expect(r.sent[0]?.headers.authorization).toBe('Bearer static');
    const sentBody: unknown = JSON.parse(r.sent[0]!.body);
    expect(sentBody).toMatchObject({ model: 'cand-model', stream: true, stream_options: { include_usage: true } });
    expect(body.model).toBe('public'); // caller's body untouched
    expect(out.complete).toBe(true);
    expect(out.text).toBe('Hello there');
    expect(out.leg).toMatchObject({ pool: 'cand', backend: 'c1', status: 200, error_class: '', finish_reason: 'stop', prompt_tokens: 5, completion_tokens: 2 });
    expect(out.leg.ttft_ms).toBeGreaterThan(0);
  });

  it('never throws: a refused connection becomes error_class connect', async () => {
    const r = recorder(async () => { throw Object.assign(new Error('ECONNREFUSED'), { kind: 'connect' }); });
    const out = await runShadowLeg({ send: r.send, now }, { target, path: '/v1/chat/completions', body, headers: {}, kind: 'shadow', timeoutMs: 1000 });
    expect(out).toMatchObject({ complete: false, text: '', leg: { error_class: 'connect', status: 0, error_message: 'ECONNREFUSED' } });
  });

  it('a stalled body times out and is cancelled', async () => {
    const rep = reply(200, sse('a', 'b'), 1);
    const out = await runShadowLeg({ send: async () => rep, now }, { target, path: '/p', body, headers: {}, kind: 'shadow', timeoutMs: 150 });
    expect(out.leg.error_class).toBe('timeout');
    expect(out.leg.status).toBe(200);
    expect(rep.body.cancelled).toBe(true);
  });

  it('an abort from outside ends a stalled body read as aborted', async () => {
    const rep = reply(200, sse('a', 'b'), 1);
    const outer = new AbortController();
    const leg = runShadowLeg({ send: async () => rep, now }, { target, path: '/p', body, headers: {}, kind: 'shadow', timeoutMs: 60_000, signal: outer.signal });
    await new Promise((r) => setTimeout(r, 10));
    outer.abort();
    const out = await leg;
    expect(out.leg.error_class).toBe('aborted');
    expect(rep.body.cancelled).toBe(true);
  });

  it('keeps no chunk it has read while the leg goes on', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const read: WeakRef<Uint8Array>[] = [];
    let n = 0;
    let release: (() => void) | null = null;
    const stream = {
      status: 200,
      header: () => null,
      body: {
        read: () => {
          if (n++ >= 300) return new Promise<Uint8Array | null>((r) => (release = () => r(null)));
          const chunk = enc.encode(`data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n`);
          read.push(new WeakRef(chunk));
          return Promise.resolve(chunk);
        },
        cancel: () => release?.(),
      },
    };
    const leg = runShadowLeg({ send: async () => stream, now }, { target, path: '/p', body, headers: {}, kind: 'shadow', timeoutMs: 60_000 });
    while (n <= 300) await new Promise((r) => setTimeout(r, 1));
    await new Promise((r) => setTimeout(r, 0)); // WeakRef targets are kept until the current job ends
    gc();
    expect(read.filter((w) => w.deref() !== undefined).length).toBeLessThan(5);
    release!();
    await leg;
  });

  it('a stalled connect times out', async () => {
    const out = await runShadowLeg({ send: () => new Promise(() => {}), now }, { target, path: '/p', body, headers: {}, kind: 'shadow', timeoutMs: 100 });
    expect(out.leg.error_class).toBe('timeout');
  });

  it('classifies 5xx with the backend message, and a stream without [DONE] as truncated', async () => {
    const five = await runShadowLeg({ send: async () => reply(503, ['{"error":{"message":"busy"}}']), now }, { target, path: '/p', body, headers: {}, kind: 'shadow', timeoutMs: 1000 });
    expect(five.leg).toMatchObject({ error_class: 'upstream_5xx', status: 503, error_message: 'busy' });
    const cut = await runShadowLeg({ send: async () => reply(200, sse('a').slice(0, 1)), now }, { target, path: '/p', body, headers: {}, kind: 'shadow', timeoutMs: 1000 });
    expect(cut.leg.error_class).toBe('truncated');
  });

  it('reads non-streaming bodies', async () => {
    const json = JSON.stringify({ choices: [{ index: 0, message: { content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 2, completion_tokens: 1 } });
    const out = await runShadowLeg({ send: async () => reply(200, [json.slice(0, 10), json.slice(10)]), now }, { target, path: '/p', body: { ...body, stream: false }, headers: {}, kind: 'noise', timeoutMs: 1000 });
    expect(out).toMatchObject({ complete: true, text: 'ok', leg: { finish_reason: 'stop', completion_tokens: 1 } });
  });
});

const primaryOk = (text: string): LegOutcome =>
  legFromSummary({
    pool: 'main', backend: 'm1', upstreamModel: 'main-model', status: 200, startedAt: 0, endedAt: 40, stream: true,
    summary: { ttftMs: 10, firstByteMs: 5, events: 3, done: true, finishReason: 'stop', usage: { promptTokens: 5, completionTokens: 2, cachedTokens: 0 }, text, textTruncated: false, error: null },
  });

function flowInput(over: Partial<ShadowFlowInput> = {}): ShadowFlowInput {
  return {
    plan: { shadow: true, noiseFloor: false },
    tenant: 't1', requestId: 'req-1', correlationId: 'corr-1', model: 'public', experiment: 'exp', arm: 'control',
    path: '/v1/chat/completions', body, reserveTokens: 10,
    limits: { maxConcurrent: 4, dailyTokenBudget: 1_000_000, timeoutMs: 1000 },
    shadowTarget: target, shadowPool: 'cand', shadowModel: 'cand-model', shadowHeaders: {},
    noiseTarget: null,
    primary: Promise.resolve(primaryOk('Hello there')),
    ...over,
  };
}

describe('runShadowFlow', () => {
  it('N shadowed requests give exactly N paired records sharing the correlation id', async () => {
    const emitted: AnalyticsEvent[] = [];
    const deps = { send: async () => reply(200, sse('Hello', ' there')), now, limiter: new ShadowLimiter(), emit: (e: AnalyticsEvent[]) => { emitted.push(...e); } };
    const N = 25;
    await Promise.all(Array.from({ length: N }, (_, i) => runShadowFlow(deps, flowInput({ requestId: `r${i}`, correlationId: `c${i}`, limits: { maxConcurrent: N, dailyTokenBudget: 1_000_000, timeoutMs: 1000 } }))));
    expect(emitted).toHaveLength(N);
    expect(new Set(emitted.map((e) => e.correlation_id)).size).toBe(N);
    for (const e of emitted) {
      expect(analyticsEventSchema.parse(e)).toEqual(e);
      expect(e).toMatchObject({ type: 'shadow_pair', pair_kind: 'shadow', comparable: true, exact_match: true, similarity: 1, length_ratio: 1, finish_agree: true });
    }
  });

  it('a down shadow backend leaves the primary untouched and the record says what happened', async () => {
    const emitted: ShadowPairEvent[] = [];
    let resolvePrimary!: (o: LegOutcome) => void;
    const primary = new Promise<LegOutcome>((r) => (resolvePrimary = r));
    const flow = runShadowFlow(
      { send: async () => { throw Object.assign(new Error('connect ECONNREFUSED'), { kind: 'connect' }); }, now, limiter: new ShadowLimiter(), emit: (e) => { emitted.push(...(e as ShadowPairEvent[])); } },
      flowInput({ primary }),
    );
    resolvePrimary(primaryOk('fine'));
    await flow;
    expect(emitted).toHaveLength(1);
    expect(emitted[0]).toMatchObject({ comparable: false, similarity: null, status: 200, error_class: '', cand: { error_class: 'connect', error_message: 'connect ECONNREFUSED' } });
  });

  it('records skipped shadows (concurrency cap) instead of dropping them, and releases permits', async () => {
    const limiter = new ShadowLimiter();
    const emitted: ShadowPairEvent[] = [];
    const deps = { send: async () => reply(200, sse('x')), now, limiter, emit: (e: AnalyticsEvent[]) => { emitted.push(...(e as ShadowPairEvent[])); } };
    const limits = { maxConcurrent: 1, dailyTokenBudget: 1_000_000, timeoutMs: 1000 };
    await Promise.all([runShadowFlow(deps, flowInput({ limits })), runShadowFlow(deps, flowInput({ limits }))]);
    expect(emitted.map((e) => e.cand.error_class).sort()).toEqual(['', 'skipped_concurrency']);
    expect(limiter.usage('t1/exp', clock).inflight).toBe(0);
  });

  it('with the noise floor sampled, emits a shadow pair and a noise pair', async () => {
    const emitted: ShadowPairEvent[] = [];
    const r = recorder(async (req) => reply(200, req.headers[SHADOW_HEADER]?.includes('noise') ? sse('Hello', ' there') : sse('Bye')));
    await runShadowFlow(
      { send: r.send, now, limiter: new ShadowLimiter(), emit: (e) => { emitted.push(...(e as ShadowPairEvent[])); } },
      flowInput({ plan: { shadow: true, noiseFloor: true }, noiseTarget: { pool: 'main', backendId: 'm2', baseUrl: 'http://127.0.0.1:2', upstreamModel: 'main-model' } }),
    );
    const byKind = Object.fromEntries(emitted.map((e) => [e.pair_kind, e]));
    expect(byKind.noise).toMatchObject({ exact_match: true, cand: { backend: 'm2', upstream_model: 'main-model' } });
    expect(byKind.shadow).toMatchObject({ exact_match: false, similarity: 0, cand: { backend: 'c1' } });
  });

  it('does nothing when the request was not sampled, and never rejects when emit fails', async () => {
    const r = recorder(async () => reply(200, sse('x')));
    await runShadowFlow({ send: r.send, now, limiter: new ShadowLimiter(), emit: () => {} }, flowInput({ plan: { shadow: false, noiseFloor: false } }));
    expect(r.sent).toHaveLength(0);
    await expect(runShadowFlow({ send: r.send, now, limiter: new ShadowLimiter(), emit: () => { throw new Error('sink down'); } }, flowInput())).resolves.toBeUndefined();
  });
});
