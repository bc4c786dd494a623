// SSE keep-alive while the first token is slow: once the first keep-alive is due the response is committed (200,
// text/event-stream) and `: keepalive` comments flow every interval, so proxies with idle timeouts (ALB, nginx) keep the connection.
// Comments carry no content, so failover to another backend is still possible until the first data event; if
// every attempt fails the stream ends with one OpenAI-style error event.
import type { ChunkSource } from './relay.ts';

const KEEPALIVE = new TextEncoder().encode(': keepalive\n\n');

export class KeepaliveSource implements ChunkSource {
  private source: ChunkSource | null = null;
  private failed: Uint8Array | null = null;
  private done = false;
  private cancelled = false;
  private settled: Promise<void>;

  /** `dueNow`: the first keep-alive is already due (the caller waited one interval before committing). */
  constructor(
    pending: Promise<ChunkSource>,
    private intervalMs: number,
    toErrorEvent: (err: unknown) => Uint8Array,
    private dueNow = false,
  ) {
    this.settled = pending.then(
      (s) => {
        this.source = s;
        if (this.cancelled) s.cancel();
      },
      (err: unknown) => {
        this.failed = toErrorEvent(err);
      },
    );
  }

  async next(): Promise<Uint8Array | null> {
    if (this.done) return null;
    if (!this.source && !this.failed) {
      if (this.dueNow) {
        this.dueNow = false;
        return KEEPALIVE;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const tick = new Promise<'tick'>((r) => (timer = setTimeout(() => r('tick'), this.intervalMs)));
      const won = await Promise.race([this.settled.then(() => 'settled' as const), tick]);
      clearTimeout(timer);
      if (won === 'tick') return KEEPALIVE;
    }
    if (this.failed) {
      this.done = true;
      return this.failed;
    }
    return this.source!.next();
  }

  cancel(): void {
    this.cancelled = true;
    this.done = true;
    // A pending forward is aborted through the request's signal (the client is gone); a started stream here.
    this.source?.cancel();
  }
}
