// A one-shot abort for the request path. On Node an AbortController's signal is an EventTarget that costs
// microseconds to create and to listen on, and the request path needed two of them per request (the client's and
// the upstream attempt's) plus undici's listener. This is the part of AbortSignal the request path uses (aborted,
// add/removeEventListener for 'abort'), as a plain object: undici accepts it as a request's signal, and an
// AbortSignal fits the same AbortLike shape wherever the runtime hands one over (workerd, Hono).

/** What the request path reads of an abort signal: an AbortSignal, or a LightAbort. */
export interface AbortLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export class LightAbort implements AbortLike {
  aborted = false;
  private listeners: (() => void)[] | null = null;

  /** Every listener is called at most once (the abort happens once); one added after the abort never is. */
  addEventListener(_type: 'abort', listener: () => void, _options?: { once?: boolean }): void {
    if (!this.aborted) (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const l = this.listeners;
    const i = l ? l.indexOf(listener) : -1;
    if (i >= 0) l!.splice(i, 1);
  }

  /** Aborts once; a listener that throws is logged and the others still run. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const l = this.listeners;
    this.listeners = null;
    if (!l) return;
    for (const listener of l) {
      try {
        listener();
      } catch (err) {
        console.error('kvroute: an abort listener failed:', err);
      }
    }
  }
}
