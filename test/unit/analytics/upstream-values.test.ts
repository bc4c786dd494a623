// Poisoned upstream values (usage counts that are negative, objects, huge; finish_reason that is not a string;
// text with a lone surrogate) at every boundary where a request becomes an analytics event: the event is still
// built, and it always passes the one event schema.
import { describe, expect, it } from 'vitest';
import { analyticsEventSchema, COUNT_MAX } from '../../../src/analytics/event.ts';
import { requestEventOf } from '../../../src/core/request-event.ts';
import type { RequestRecord } from '../../../src/core/inference.ts';
import { defaultDriftConfig } from '../../../src/config/drift.ts';
import { observationFromRecord, usageAndFinish } from '../../../src/drift/from-record.ts';
import { completionFacts, MAX_TOKEN_COUNT, tokenCount } from '../../../src/stream/completion-facts.ts';
import { CompletionStreamObserver, summariseCompletionBody } from '../../../src/stream/sse.ts';
import { legFromSummary } from '../../../src/experiments/shadow/leg.ts';
import { buildPairRecord } from '../../../src/experiments/shadow/pair.ts';
import { clipText } from '../../../src/util/text.ts';

/** Usage values a faulty backend has been seen to send, or could. */
const POISON_COUNTS: unknown[] = [-5, { a: 1 }, [3], NaN, Infinity, -Infinity, 1e300, 5e9, '12abc', null, true, 2.6];
const POISON_FINISH: unknown[] = [42, { reason: 'stop' }, ['stop'], true, 'x'.repeat(500), 'stop\ud800'];

function body(usage: Record<string, unknown>, finish: unknown): string {
  return JSON.stringify({ id: 'c1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: finish }], usage });
}

function sseTail(usage: Record<string, unknown>, finish: unknown): string {
  const chunk = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
  return chunk({ choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: null }] }) + chunk({ choices: [{ index: 0, delta: {}, finish_reason: finish }] }) + chunk({ choices: [], usage }) + 'data: [DONE]\n\n';
}

function record(responseText: string, over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    requestId: 'req-1', tenantId: 't1', keyId: 'k1', kind: 'chat', model: 'm', body: { model: 'm', messages: [{ role: 'user', content: 'x' }] },
    stream: false, status: 200, attempts: [], experiment: '', arm: '', shadowed: false, drift: defaultDriftConfig,
    startedAt: 1000, ttftMs: 20, latencyMs: 80, overheadMs: 0.5, outcome: 'completed', responseText, ...over,
  } as RequestRecord;
}

const usageWith = (v: unknown) => ({ prompt_tokens: v, completion_tokens: v, prompt_tokens_details: { cached_tokens: v } });

describe('completionFacts (the one sanitiser of usage and finish_reason)', () => {
  it('turns every poisoned count into a finite non-negative integer within the cap', () => {
    for (const v of POISON_COUNTS) {
      const n = tokenCount(v);
      expect(Number.isInteger(n) && n >= 0 && n <= MAX_TOKEN_COUNT, `${String(v)} -> ${n}`).toBe(true);
    }
    expect([tokenCount(-5), tokenCount({}), tokenCount(1e300), tokenCount(2.6), tokenCount('12'), tokenCount(7)]).toEqual([0, 0, MAX_TOKEN_COUNT, 3, 12, 7]);
  });

  it('keeps only string finish reasons, clipped and well-formed', () => {
    for (const f of POISON_FINISH) {
      const r = completionFacts({ choices: [{ index: 0, finish_reason: f }] }).finishReason;
      expect(r === null || (typeof r === 'string' && r.length <= 64 && !/[\ud800-\udfff]/.test(r.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))), String(r)).toBe(true);
    }
    expect(completionFacts({ choices: [{ finish_reason: 42 }] }).finishReason).toBeNull();
    expect(completionFacts({ choices: [{ finish_reason: 'length' }] }).finishReason).toBe('length');
  });

  it('clips text without leaving half a surrogate pair', () => {
    expect(clipText('ab😀', 3)).toBe('ab');
    expect(clipText('a\ud800b', 10)).toBe('a\ufffdb');
    expect(clipText(42, 10)).toBe('');
  });
});

describe('request events from a poisoned backend answer', () => {
  it('are built (no throw) and pass the event schema, for JSON bodies and SSE tails', () => {
    for (const v of POISON_COUNTS) {
      for (const f of POISON_FINISH) {
        for (const text of [body(usageWith(v), f), sseTail(usageWith(v), f)]) {
          const e = requestEventOf(record(text, { stream: text.startsWith('data:') }), Date.UTC(2026, 0, 1), 2000);
          const parsed = analyticsEventSchema.safeParse(e);
          expect(parsed.success, `${JSON.stringify(v)} / ${JSON.stringify(f)}: ${parsed.error?.issues[0]?.message}`).toBe(true);
          expect(e.prompt_tokens).toBeLessThanOrEqual(COUNT_MAX);
        }
      }
    }
  });

  it('stores a negative count as 0 and a non-string finish_reason as empty', () => {
    const e = requestEventOf(record(body({ prompt_tokens: -5, completion_tokens: { n: 1 } }, 42)), 5000, 2000);
    expect(e).toMatchObject({ prompt_tokens: 0, completion_tokens: 0, finish_reason: '' });
  });

  it('clip client text (model name) to the schema and keep it well-formed', () => {
    const e = requestEventOf(record(body({ prompt_tokens: 1 }, 'stop'), { model: 'm\ud800'.repeat(200), error: { status: 400, code: 'x', message: '😀'.repeat(600) } }), 5000, 2000);
    expect(analyticsEventSchema.safeParse(e).success).toBe(true);
  });

  it('give drift no negative or non-numeric token counts', () => {
    const obs = observationFromRecord({ ...record(body({ prompt_tokens: -5, completion_tokens: 'x' }, { r: 1 })), outcome: 'completed' });
    expect(obs.usage).toEqual({ prompt_tokens: 0, completion_tokens: 0 });
    expect(obs.finishReason).toBeUndefined();
    expect(usageAndFinish(sseTail({ prompt_tokens: 1e300 }, 7)).usage?.promptTokens).toBe(MAX_TOKEN_COUNT);
  });
});

describe('shadow legs from a poisoned backend answer', () => {
  const legOf = (summary: Parameters<typeof legFromSummary>[0]['summary'], stream: boolean) =>
    legFromSummary({ pool: 'p', backend: 'b', upstreamModel: 'm', status: 200, startedAt: 0, endedAt: 10, stream, summary });

  it('are built from the stream observer and the body summariser, and the pair passes the schema', () => {
    for (const v of POISON_COUNTS) {
      for (const f of POISON_FINISH) {
        const o = new CompletionStreamObserver({ startedAt: 0, collectText: true });
        o.push(sseTail(usageWith(v), f), 5);
        const streamed = legOf(o.end(9), true);
        const buffered = legOf({ ...summariseCompletionBody(body(usageWith(v), f)), ttftMs: null, firstByteMs: 3 }, false);
        const pair = buildPairRecord(streamed, buffered, { tenant: 't', requestId: 'r', correlationId: 'r', model: 'm', experiment: 'e', arm: 'a', stream: true, pairKind: 'shadow', now: 1 });
        const parsed = analyticsEventSchema.safeParse(pair);
        expect(parsed.success, `${JSON.stringify(v)} / ${JSON.stringify(f)}: ${parsed.error?.issues[0]?.message}`).toBe(true);
      }
    }
  });

  it('do not throw on a summary whose values were never sanitised', () => {
    const raw = { ttftMs: 1, firstByteMs: 1, events: 1, done: true, finishReason: 42, usage: { promptTokens: -5, completionTokens: NaN, cachedTokens: 1e12 }, text: 'x', textTruncated: false, error: null };
    const { leg } = legOf(raw as never, true);
    expect(leg).toMatchObject({ prompt_tokens: 0, completion_tokens: 0, cached_tokens: MAX_TOKEN_COUNT, finish_reason: '' });
  });
});
