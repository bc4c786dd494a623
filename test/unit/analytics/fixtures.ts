// Event builders shared by the analytics tests.
import { expect } from 'vitest';
import { cacheReport } from '../../../src/analytics/cache-report.ts';
import type { Queryable } from '../../../src/analytics/queryable.ts';
import { experimentReport } from '../../../src/experiments/report.ts';
import { analyticsEventSchema, newEventId, type AnalyticsEvent, type RequestEvent, type ShadowPairEvent } from '../../../src/analytics/event.ts';

export function requestEvent(over: Partial<RequestEvent> = {}): RequestEvent {
  return analyticsEventSchema.parse({
    type: 'request',
    event_id: newEventId(),
    ts: Date.UTC(2026, 10, 29, 9, 0, 0),
    tenant: 't1',
    request_id: 'req-1',
    correlation_id: 'req-1',
    model: 'public-model',
    experiment: 'exp1',
    arm: 'control',
    stream: true,
    pool: 'gpu-a',
    backend: 'b1',
    upstream_model: 'm-a',
    status: 200,
    ttft_ms: 50,
    latency_ms: 400,
    prompt_tokens: 10,
    completion_tokens: 20,
    cached_tokens: 4,
    finish_reason: 'stop',
    decision: 'pool=gpu-a;backend=b1',
    router_overhead_ms: 0.4,
    ...over,
  }) as RequestEvent;
}

export function pairEvent(over: Partial<ShadowPairEvent> = {}): ShadowPairEvent {
  return analyticsEventSchema.parse({
    type: 'shadow_pair',
    event_id: newEventId(),
    ts: Date.UTC(2026, 10, 29, 9, 0, 1),
    tenant: 't1',
    request_id: 'req-1',
    correlation_id: 'req-1',
    model: 'public-model',
    experiment: 'exp1',
    arm: 'control',
    stream: true,
    pair_kind: 'shadow',
    pool: 'gpu-a', backend: 'b1', upstream_model: 'm-a', status: 200, ttft_ms: 50, latency_ms: 400, finish_reason: 'stop',
    cand: { pool: 'gpu-c', backend: 'c1', upstream_model: 'm-c', status: 200, ttft_ms: 70, latency_ms: 500, finish_reason: 'stop', completion_tokens: 18 },
    exact_match: false,
    similarity: 0.8,
    length_ratio: 0.9,
    finish_agree: true,
    comparable: true,
    ...over,
  }) as ShadowPairEvent;
}

/** Request events for arms with known TTFTs: arm -> list of ttft values (latency = 10 x ttft). */
export function armEvents(tenant: string, experiment: string, arms: Record<string, number[]>, errorsPerArm: Record<string, number> = {}): AnalyticsEvent[] {
  const out: AnalyticsEvent[] = [];
  for (const [arm, ttfts] of Object.entries(arms)) {
    ttfts.forEach((t, i) =>
      out.push(requestEvent({ tenant, experiment, arm, ttft_ms: t, latency_ms: t * 10, request_id: `${arm}-${i}`, correlation_id: `${arm}-${i}`, ...(i < (errorsPerArm[arm] ?? 0) ? { status: 502, error_class: 'upstream_5xx' } : {}) })),
    );
  }
  return out;
}

/**
 * Request events with cache receipts for the cache report: tenant acme (prefix-affinity on b0, round-robin on b1),
 * tenant beta (round-robin, nothing cached), plus answers the report leaves out (errors, a router refusal).
 */
export function cacheRequests(): AnalyticsEvent[] {
  const at = (min: number) => Date.UTC(2026, 10, 29, 9, min);
  const req = (tenant: string, pool: string, backend: string, policy: string, prompt: number, cached: number, min: number, over: Partial<RequestEvent> = {}) =>
    requestEvent({
      tenant, pool, backend, prompt_tokens: prompt, cached_tokens: cached, ts: at(min), experiment: '', arm: '',
      decision: `pool=${pool};backend=${backend};policy=${policy};reason=r;attempt=1;inflight=0`, ...over,
    });
  return [
    req('acme', 'gpu', 'b0', 'prefix-affinity', 1000, 500, 0),
    req('acme', 'gpu', 'b0', 'prefix-affinity', 1000, 1000, 10),
    req('acme', 'gpu', 'b0', 'prefix-affinity', 1000, 1000, 40),
    req('acme', 'gpu', 'b1', 'round-robin', 1000, 0, 20),
    req('beta', 'cpu', 'b0', 'round-robin', 400, 0, 0),
    req('beta', 'cpu', 'b0', 'round-robin', 600, 0, 5),
    req('acme', 'gpu', 'b1', 'round-robin', 1000, 900, 41, { status: 502, error_class: 'upstream_5xx' }),
    req('acme', '', '', '', 0, 0, 42, { status: 400, error_class: 'invalid_request', decision: '' }),
  ];
}

/** Values that SQL built by splicing strings gets wrong: quotes, backslashes, a NUL, and injection attempts. */
export const TRICKY = {
  tenant: `o'k \\ "q" \\' \0 end`,
  experiment: `x' OR '1'='1`,
  injection: `'); DROP TABLE kvroute_events; --`,
} as const;

/** 3 events of TRICKY.tenant, 2 of TRICKY.injection and 5 of tenant 'victim', all in experiment TRICKY.experiment. */
export function trickyEvents(): AnalyticsEvent[] {
  const of = (tenant: string, n: number) =>
    Array.from({ length: n }, (_, i) => requestEvent({ tenant, experiment: TRICKY.experiment, request_id: `${n}-${i}`, correlation_id: `${n}-${i}` }));
  return [...of(TRICKY.tenant, 3), ...of(TRICKY.injection, 2), ...of('victim', 5)];
}

/**
 * The reports' filters are bound, never spliced: a tricky value round-trips exactly and matches only its own rows,
 * an injection attempt is matched as data, and all 10 events of trickyEvents() are still in the table.
 */
export async function expectFiltersBound(q: Queryable, countEvents: () => Promise<number>): Promise<void> {
  const own = await cacheReport(q, { tenant: TRICKY.tenant });
  expect(own.tenants).toEqual([expect.objectContaining({ tenant: TRICKY.tenant, requests: 3 })]);
  const injection = await cacheReport(q, { tenant: TRICKY.injection });
  expect(injection.tenants).toEqual([expect.objectContaining({ tenant: TRICKY.injection, requests: 2 })]);
  const exp = await experimentReport(q, TRICKY.tenant, TRICKY.experiment);
  expect(exp.arms).toEqual([expect.objectContaining({ arm: 'control', requests: 3 })]);
  expect((await experimentReport(q, `victim' OR '1'='1`, TRICKY.experiment)).arms).toEqual([]);
  expect((await experimentReport(q, 'victim', `' OR ''='`)).arms).toEqual([]);
  expect(await countEvents()).toBe(10);
}
