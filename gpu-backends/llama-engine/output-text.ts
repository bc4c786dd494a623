// The generated text as it may be sent: stop strings (OpenAI's `stop`) end it and are not part of it, so the tail
// that could still become a stop string is held back until it cannot (as llama-server does with partial stops).

export class OutputText {
  private full = '';
  private sent = 0;
  stopped = false;

  constructor(private readonly stops: readonly string[] = []) {}

  /** All the text generated so far (cut at the stop string once one appeared). */
  get text(): string {
    return this.full;
  }

  /** Adds a generated piece; returns the text that can be sent now ('' if none). */
  push(piece: string): string {
    if (this.stopped) return '';
    this.full += piece;
    let cut = -1;
    for (const s of this.stops) {
      const at = this.full.indexOf(s, this.sent);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.full = this.full.slice(0, cut);
      this.stopped = true;
      return this.flush();
    }
    let safe = this.full.length - this.partialStopLength();
    // Never split a surrogate pair.
    if (safe > 0 && safe < this.full.length && /[\uD800-\uDBFF]/.test(this.full[safe - 1]!)) safe--;
    if (safe <= this.sent) return '';
    const out = this.full.slice(this.sent, safe);
    this.sent = safe;
    return out;
  }

  /** Length of the longest unsent tail that is the beginning of a stop string. */
  private partialStopLength(): number {
    let hold = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, this.full.length - this.sent); k > hold; k--) {
        if (this.full.endsWith(s.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    return hold;
  }

  /** What is still held back (at the end of generation). */
  flush(): string {
    const out = this.full.slice(this.sent);
    this.sent = this.full.length;
    return out;
  }
}
