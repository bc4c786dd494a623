// Workers upstream client: plain fetch. workerd pools connections itself; the body is read through its reader.
import type { AbortLike } from '../util/abort.ts';
import type { BodyReader, UpstreamClient, UpstreamRequest, UpstreamResponse } from './types.ts';
import { UpstreamFailure } from './types.ts';

/** fetch takes a real AbortSignal: the request path's LightAbort is linked to one here. */
function abortSignalOf(s: AbortLike): AbortSignal {
  if (s instanceof AbortSignal) return s;
  const ac = new AbortController();
  if (s.aborted) ac.abort();
  else {
    s.addEventListener('abort', () => {
      try {
        ac.abort();
      } catch {
        // From another request's context (an expired lease) the runtime may refuse; it cleans up the dropped
        // request's I/O itself.
      }
    });
  }
  return ac.signal;
}

function classify(err: unknown, signal: AbortLike): UpstreamFailure {
  const msg = err instanceof Error ? err.message : String(err);
  if (signal.aborted) return new UpstreamFailure('aborted', msg);
  if (/refused|connect|network connection lost|internal error/i.test(msg)) return new UpstreamFailure('connect', msg);
  return new UpstreamFailure('reset', msg);
}

export class FetchUpstreamClient implements UpstreamClient {
  constructor(private fetchImpl: typeof fetch = (...a) => fetch(...a)) {}

  async send(req: UpstreamRequest): Promise<UpstreamResponse> {
    const base = req.baseUrl.endsWith('/') ? req.baseUrl.slice(0, -1) : req.baseUrl;
    let res: Response;
    try {
      res = await this.fetchImpl(base + req.path, { method: req.method, headers: req.headers, body: req.body, signal: abortSignalOf(req.signal) });
    } catch (err) {
      throw classify(err, req.signal);
    }
    const r: ReadableStreamDefaultReader<Uint8Array> | undefined = res.body?.getReader();
    const signal = req.signal;
    const reader: BodyReader = {
      async read() {
        if (!r) return null;
        try {
          const { done, value } = await r.read();
          return done ? null : value;
        } catch (err) {
          throw classify(err, signal);
        }
      },
      cancel() {
        r?.cancel().catch(() => {});
      },
    };
    return {
      status: res.status,
      header(n) {
        return res.headers.get(n);
      },
      body: reader,
    };
  }
}
