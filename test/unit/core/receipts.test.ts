// After each response, its cache receipt (read through the backend's engine adapter) is counted on the backend and
// told to the policy that placed the request, through RoutingPolicy.onReceipt: a fake policy records the calls.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AnalyticsEvent } from '../../../src/analytics/event.ts';
import type { PolicyFactory } from '../../../src/runtime-model/compile.ts';
import { afterResponse } from '../../../src/core/after-response.ts';
import { createDriftRecorder } from '../../../src/drift/recorder.ts';
import { MemoryDriftStore } from '../../../src/drift/store.ts';
import type { CacheReceipt, Candidate, RoutingInput, RoutingPolicy, Selection } from '../../../src/routing/policies/policy.ts';
import { drain, harness, JSON_HEAD, SSE, settle, type Answer } from '../../helpers/request-harness.ts';

afterEach(() => {
  vi.useRealTimers();
});

class RecordingPolicy implements RoutingPolicy {
  readonly name = 'recording';
  readonly receipts: { input: RoutingInput; backendId: string; receipt: CacheReceipt }[] = [];
  throws = false;
  select(_input: RoutingInput, _candidates: readonly Candidate[]): Selection {
    return { index: 0, reason: 'first' };
  }
  onReceipt(input: RoutingInput, backendId: string, receipt: CacheReceipt): void {
    if (this.throws) throw new Error('policy bug');
    this.receipts.push({ input, backendId, receipt });
  }
}

// llama-server answers (timings: 1,600 of 1,615 prompt tokens from the slot's cache).
const timings = { prompt_n: 15, prompt_ms: 14.1, predicted_n: 2, predicted_ms: 20.4, cache_n: 1600 };
const llamaJson = JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1615, completion_tokens: 2 }, timings });
const llamaStream = [
  'data: {"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}\n\n',
  `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], timings })}\n\n`,
  'data: [DONE]\n\n',
];
const noReceipt = JSON.stringify({ choices: [{ index: 0, message: { content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 9, completion_tokens: 1 } });

const longChat = (stream = false) => ({ model: 'm', stream, messages: [{ role: 'system', content: 'You are a careful agent. '.repeat(60) }, { role: 'user', content: 'go' }] });

async function setup(answer: (url: string, k: number) => Answer) {
  const policy = new RecordingPolicy();
  const factory: PolicyFactory = () => policy;
  const h = await harness(2, answer, {}, factory);
  const events: AnalyticsEvent[] = [];
  h.deps.onRecord = afterResponse({ now: () => performance.now(), states: h.states, emit: (e) => void events.push(...e) });
  return { h, policy, events };
}

describe('cache receipts after the response', () => {
  it('a JSON response: the policy hears the engine\'s receipt for the backend it placed the request on, with its input', async () => {
    const { h, policy, events } = await setup(() => ({ status: 200, headers: JSON_HEAD, body: [llamaJson] }));
    await settle(h.request(longChat()).then(drain));
    expect(policy.receipts).toHaveLength(1);
    const [call] = policy.receipts;
    expect(call!.backendId).toBe('b0');
    expect(call!.receipt).toEqual({ promptTokens: 1615, cachedTokens: 1600 });
    expect(call!.input.prefixHashes.length).toBeGreaterThan(0); // the same input the policy chose with
    expect(events[0]).toMatchObject({ backend: 'b0', prompt_tokens: 1615, cached_tokens: 1600 });
    expect(h.states.get('http://b0').receipts).toEqual({ responses: 1, withReceipt: 1, promptTokens: 1615, cachedTokens: 1600 });
  });

  it('a stream: the receipt in its last chunk, told once the stream has ended', async () => {
    const { h, policy } = await setup(() => ({ status: 200, headers: SSE, body: llamaStream }));
    const r = await settle(h.request(longChat(true)));
    expect(policy.receipts).toHaveLength(0); // nothing before the response has gone out
    await settle(drain(r));
    expect(policy.receipts.map((c) => c.receipt)).toEqual([{ promptTokens: 1615, cachedTokens: 1600 }]);
  });

  it('a response without a receipt is counted but tells the policy nothing; an error answer is neither', async () => {
    const { h, policy } = await setup((_url, k) => (k === 0 ? { status: 200, headers: JSON_HEAD, body: [noReceipt] } : { status: 400, headers: JSON_HEAD, body: ['{"error":"bad"}'] }));
    await settle(h.request(longChat()).then(drain));
    await settle(h.request(longChat()).then(drain).catch(() => null));
    expect(policy.receipts).toEqual([]);
    expect(h.states.get('http://b0').receipts).toEqual({ responses: 1, withReceipt: 0, promptTokens: 0, cachedTokens: 0 });
  });

  it('a policy that throws costs neither the event nor the next receipts', async () => {
    const { h, policy, events } = await setup(() => ({ status: 200, headers: JSON_HEAD, body: [llamaJson] }));
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    policy.throws = true;
    await settle(h.request(longChat()).then(drain));
    await settle(h.request(longChat()).then(drain));
    expect(events).toHaveLength(2);
    expect(err).toHaveBeenCalledTimes(1); // logged once, not per request
    policy.throws = false;
    await settle(h.request(longChat()).then(drain));
    expect(policy.receipts).toHaveLength(1);
    err.mockRestore();
  });
  it('the response is read once for the event, the drift sketch and the receipt', async () => {
    const { h, policy, events } = await setup(() => ({ status: 200, headers: JSON_HEAD, body: [llamaJson] }));
    const drift = createDriftRecorder({ store: new MemoryDriftStore() });
    h.deps.onRecord = afterResponse({ now: () => performance.now(), states: h.states, drift, emit: (e) => void events.push(...e) });
    const parse = vi.spyOn(JSON, 'parse');
    try {
      await settle(h.request(longChat()).then(drain));
      expect(parse.mock.calls.filter(([text]) => text === llamaJson)).toHaveLength(1);
    } finally {
      parse.mockRestore();
    }
    expect(events[0]).toMatchObject({ prompt_tokens: 1615, cached_tokens: 1600, finish_reason: 'stop' });
    expect(policy.receipts).toHaveLength(1);
    await drift.flush();
  });
});
