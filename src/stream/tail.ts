// The last bytes of a stream, for what the stream states at its end (usage, finish_reason, a cache receipt). Kept
// as the chunks that hold them and decoded once, when the stream is over: decoding every chunk into a growing
// string as it passed cost a TextDecoder call and a string concatenation per chunk, most of it thrown away.

const utf8 = new TextDecoder();

export class StreamTail {
  private chunks: Uint8Array[] = [];
  /** Index of the oldest chunk still kept (dropped ones are compacted away now and then, not shifted out each time). */
  private head = 0;
  private bytes = 0;

  /** Keeps at least the last `keepBytes` bytes (and at most one chunk more). */
  constructor(private readonly keepBytes: number) {
    if (!(keepBytes >= 1)) throw new RangeError(`keepBytes must be at least 1, got ${keepBytes}`);
  }

  push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.bytes += chunk.byteLength;
    for (let oldest = this.chunks[this.head]!; this.bytes - oldest.byteLength >= this.keepBytes; oldest = this.chunks[this.head]!) {
      this.bytes -= oldest.byteLength;
      this.head++;
    }
    if (this.head > 64) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  /** The kept bytes as text. A first character cut in two decodes as U+FFFD: the tail starts mid-event anyway. */
  text(): string {
    const kept = this.chunks.length - this.head;
    if (kept === 0) return '';
    if (kept === 1) return utf8.decode(this.chunks[this.head]);
    const all = new Uint8Array(this.bytes);
    let at = 0;
    for (let i = this.head; i < this.chunks.length; i++) {
      all.set(this.chunks[i]!, at); // i < chunks.length
      at += this.chunks[i]!.byteLength;
    }
    return utf8.decode(all);
  }
}
