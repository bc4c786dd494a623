// Relays an upstream SSE body to the client chunk by chunk (no buffering), with an idle timeout. After the first
// byte there is no silent truncation: a broken, stalled or unfinished upstream stream ends with one final SSE
// event carrying an OpenAI-style error object.
import type { BodyReader } from '../upstream/types.ts';
import { EndLineDetector } from './end-lines.ts';
import { idleTimeout, UpstreamFailure } from '../upstream/types.ts';

export type StreamOutcome = 'completed' | 'upstream_error' | 'idle_timeout' | 'truncated' | 'client_abort';

export interface ChunkSource {
  /** Next chunk for the client, or null at the end. Never rejects. */
  next(): Promise<Uint8Array | null>;
  /** The client went away: stop and release the upstream. */
  cancel(): void;
}

const encoder = new TextEncoder();
const DONE = 'data: [DONE]';

export function sseErrorEvent(message: string, code: string, type = 'upstream_error'): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify({ error: { message, type, param: null, code } })}\n\n`);
}

export interface RelayOptions {
  /** Longest wait for the upstream's next chunk (time the router spends waiting on the client does not count). */
  idleMs: number;
  /**
   * Longest wait for the client to take the next chunk (nginx's send_timeout). A client that stops reading, or
   * one whose departure the runtime never reports (a dev proxy, a half-open connection), ends the stream here
   * as a client abort instead of holding the backend forever. Default: no limit.
   */
  clientMs?: number;
  /** Monotonic ms (default performance.now). */
  now?: () => number;
  /** Sees every upstream chunk (TTFT, usage, output text taps). */
  observe?: (chunk: Uint8Array) => void;
  /** Called once with the outcome when the relay ends for any reason. */
  onEnd: (outcome: StreamOutcome, detail?: string) => void;
  /**
   * SSE lines that end the stream normally, matched at a line start (default `data: [DONE]`; the Responses API
   * ends with `event: response.completed` and no [DONE]). A stream that closes without one was truncated.
   */
  endLines?: readonly string[];
}

export class SseRelay implements ChunkSource {
  private pending: Uint8Array | null;
  private finished = false;
  /** Watches for the stream's end line (split across chunks or not). */
  private readonly ending: EndLineDetector;
  // Timeouts without a timer per chunk: one timer per stream re-arms itself. Once an upstream read has been
  // pending for idleMs it cancels the upstream, which ends that read (rejected on Node, done for a web stream), and
  // marks the stream stalled: only time spent waiting on the upstream counts, as a slow client (backpressure)
  // delays the next read and that is not the backend stalling. And it cancels the stream once a chunk has waited
  // clientMs for the client to ask for the next one.
  // No Promise.race of each read against one promise that lives as long as the stream: every race would leave a
  // reaction on it that holds that read's chunk, so a stream would keep all its chunks until it ended.
  private readStartedAt = -1;
  /** When the last chunk went to the client, while it has not asked for the next one; -1 otherwise. */
  private handedAt = -1;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The idle timeout fired and cancelled the upstream: whatever the pending read returns, the stream stalled. */
  private stalled = false;
  private readonly now: () => number;

  constructor(first: Uint8Array | null, private upstream: BodyReader, private opts: RelayOptions) {
    this.pending = first;
    this.now = opts.now ?? (() => performance.now());
    this.ending = new EndLineDetector(opts.endLines ?? [DONE]);
    this.timer = setTimeout(this.checkIdle, this.checkEvery());
  }

  private checkEvery(): number {
    return Math.min(this.opts.idleMs, this.opts.clientMs ?? Infinity);
  }

  private checkIdle = (): void => {
    const now = this.now();
    const client = this.opts.clientMs;
    if (this.readStartedAt >= 0) {
      const waited = now - this.readStartedAt;
      if (waited >= this.opts.idleMs) {
        this.stalled = true;
        return this.cancelUpstream();
      }
      this.timer = setTimeout(this.checkIdle, this.opts.idleMs - waited);
    } else if (client !== undefined && this.handedAt >= 0) {
      const waited = now - this.handedAt;
      if (waited >= client) return this.abandon(`the client took no data for ${client} ms`);
      this.timer = setTimeout(this.checkIdle, client - waited);
    } else this.timer = setTimeout(this.checkIdle, this.checkEvery());
  };

  private track(chunk: Uint8Array): Uint8Array {
    this.opts.observe?.(chunk);
    this.ending.push(chunk);
    this.handedAt = this.now();
    return chunk;
  }

  private end(outcome: StreamOutcome, detail?: string): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.opts.onEnd(outcome, detail);
  }

  async next(): Promise<Uint8Array | null> {
    if (this.finished) return null;
    this.handedAt = -1;
    if (this.pending) {
      const c = this.pending;
      this.pending = null;
      return this.track(c);
    }
    try {
      this.readStartedAt = this.now();
      const chunk = await this.upstream.read();
      this.readStartedAt = -1;
      if (this.finished) return null; // cancelled while the read was pending
      if (this.stalled) throw idleTimeout(this.opts.idleMs);
      if (chunk) return this.track(chunk);
      if (this.ending.seen) {
        this.end('completed');
        return null;
      }
      this.end('truncated', 'upstream closed the stream before its end event');
      return sseErrorEvent('The upstream backend ended the stream before it finished. The response is incomplete.', 'upstream_stream_truncated');
    } catch (err) {
      this.readStartedAt = -1;
      if (this.finished) return null; // cancelled while the read was pending: the rejection is ours
      this.upstream.cancel();
      const f = this.stalled
        ? idleTimeout(this.opts.idleMs)
        : err instanceof UpstreamFailure
          ? err
          : new UpstreamFailure('reset', String(err));
      if (f.kind === 'timeout') {
        this.end('idle_timeout', f.message);
        return sseErrorEvent(`The upstream backend stalled mid-stream (${f.message}). The response is incomplete.`, 'upstream_stream_timeout', 'timeout_error');
      }
      this.end('upstream_error', f.message);
      return sseErrorEvent(`The upstream backend failed mid-stream (${f.message}). The response is incomplete.`, 'upstream_stream_error');
    }
  }

  cancel(): void {
    this.abandon();
  }

  private abandon(detail?: string): void {
    if (this.finished) return;
    this.end('client_abort', detail);
    this.cancelUpstream();
  }

  private cancelUpstream(): void {
    try {
      this.upstream.cancel();
    } catch {
      // Called from another request's context (an expired lease): the runtime cleans up this one's I/O.
    }
  }
}
