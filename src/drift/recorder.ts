// The one call the router makes per request: `recorder.observe(...)` after the response. It extracts features and
// updates in-memory sketches; every flushInterval it also starts a flush (deltas to the store, alerts to the
// tenant's webhook, status changes to the analytics sink) and returns its promise, so a caller running inside
// the request's waitUntil (Platform.hooks.onRecord) keeps the request alive until the flush is done.
import type { DriftConfig } from '../config/drift.ts';
import { hashString, unitFloat } from '../util/hash.ts';
import { DriftAccumulator } from './aggregate.ts';
import type { DriftAlert, DriftStatusRow } from './alerts.ts';
import { extractFeatures, type ResponseObservation } from './features.ts';
import type { DriftStore } from './store.ts';

export interface DriftRecorderDeps {
  store: DriftStore;
  /** Also handed every flush promise, when the recorder has an execution context of its own (Node: optional). */
  waitUntil?: (p: Promise<unknown>) => void;
  now?: () => number;
  /** Used to POST alert webhooks. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Receives drift status changes, for the analytics store. */
  onStatus?: (rows: DriftStatusRow[]) => void | Promise<void>;
  onError?: (err: unknown) => void;
  /** Flush early once this many requests are pending (bounds isolate memory). */
  maxPending?: number;
}

export interface DriftObservation {
  tenantId: string;
  config: DriftConfig;
  /**
   * The router's own random id for the request, which decides sampling (the same id always gets the same
   * verdict). Never the request id a client may have chosen (x-request-id): a client must not pick whether it
   * is sketched.
   */
  samplingId: string;
  model: string;
  /** Experiment arm ('' or 'control' when the tenant runs no experiment). */
  arm: string;
  /** Parsed JSON request body. */
  body: Record<string, unknown>;
  response: ResponseObservation;
}

export interface DriftRecorder {
  /** Records one request; returns the flush it started, if any (await it, or hand it to waitUntil). */
  observe(o: DriftObservation): Promise<void> | undefined;
  /** Sends everything pending now (also called on shutdown on Node). */
  flush(): Promise<void>;
}

export function createDriftRecorder(deps: DriftRecorderDeps): DriftRecorder {
  const now = deps.now ?? Date.now;
  const onError = deps.onError ?? ((err: unknown) => console.error('drift flush failed:', err));
  const maxPending = deps.maxPending ?? 5000;
  const accumulator = new DriftAccumulator();
  let lastFlush = now();
  let chain: Promise<void> = Promise.resolve();

  async function notify(url: string, alert: DriftAlert): Promise<void> {
    const post = deps.fetch ?? fetch;
    const res = await post(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'kvroute.drift.major', alert }),
    });
    if (!res.ok) throw new Error(`drift webhook ${url} answered HTTP ${res.status}`);
  }

  async function flushNow(): Promise<void> {
    lastFlush = now();
    for (const { tenantId, delta } of accumulator.drain()) {
      let result;
      try {
        result = await deps.store.ingest(tenantId, delta);
      } catch (err) {
        accumulator.restore(tenantId, delta);
        onError(err);
        continue;
      }
      const url = delta.config.alertWebhook;
      const sends: Array<Promise<unknown>> = [];
      if (url) for (const alert of result.alerts) sends.push(notify(url, alert));
      if (deps.onStatus && result.statuses.length) sends.push(Promise.resolve(deps.onStatus(result.statuses)));
      for (const r of await Promise.allSettled(sends)) if (r.status === 'rejected') onError(r.reason);
    }
  }

  function flush(): Promise<void> {
    // One flush at a time per isolate; a flush requested meanwhile runs after it.
    const run = chain.then(flushNow);
    chain = run.catch(onError);
    return run;
  }

  return {
    observe(o) {
      const cfg = o.config;
      if (!cfg.enabled) return undefined;
      if (cfg.sampling < 1 && unitFloat(hashString(o.samplingId)) >= cfg.sampling) return undefined;
      const at = now();
      accumulator.record(o.tenantId, cfg, o.model, o.arm, extractFeatures(o.body, o.response), at);
      if (at - lastFlush < cfg.flushInterval && accumulator.pending < maxPending) return undefined;
      lastFlush = at;
      const flushing = flush();
      deps.waitUntil?.(flushing);
      return flushing;
    },
    flush,
  };
}
