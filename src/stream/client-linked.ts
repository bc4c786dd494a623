// A response stream tied to its client's abort signal, in both directions: the signal cancels the stream (workerd
// may drop a response body without cancelling it, and the signal is then all that tells of the departure), and
// the stream lets go of the signal once it ends. workerd keeps a request's AbortSignal alive from native code
// after the request is done; a listener left on it would keep the stream (its relay, attempt and chunks) with it.
import type { AbortLike } from '../util/abort.ts';
import type { ChunkSource } from './relay.ts';

export class ClientLinkedSource implements ChunkSource {
  // Assigned in the constructor, not class-field arrows (tsx would rename those per instance).
  private readonly onAbort: () => void;
  private readonly seen: (chunk: Uint8Array | null) => Uint8Array | null;

  constructor(
    private readonly source: ChunkSource,
    private readonly signal: AbortLike,
  ) {
    this.onAbort = () => this.cancel();
    this.seen = (chunk) => {
      if (chunk === null) this.release();
      return chunk;
    };
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  next(): Promise<Uint8Array | null> {
    return this.source.next().then(this.seen);
  }

  cancel(): void {
    this.release();
    this.source.cancel();
  }

  private release(): void {
    this.signal.removeEventListener('abort', this.onAbort);
  }
}
