// Tells whether an SSE stream has carried the line that ends it normally (`data: [DONE]` for chat and completions,
// `event: response.completed` and its siblings for the Responses API), chunk by chunk and without buffering.
//
// A marker only counts at the start of a line: JSON-escaped data cannot hold a raw line break, so user text that
// merely contains the words is never at a line start. Only the position in the current line and the markers it
// still matches are kept, so a marker split across chunks is still seen, at a cost independent of the line length.

const LF = 10;
const CR = 13;
const encoder = new TextEncoder();

export class EndLineDetector {
  /** The stream has carried an end line (always true when no markers are given: any clean close ends it). */
  seen: boolean;
  private readonly markers: Uint8Array[];
  /** Markers the current line still matches, one bit each; 0 once the line can match none. */
  private alive: number;
  private readonly all: number;
  /** Bytes of the current line matched so far. */
  private pos = 0;

  constructor(markers: readonly string[]) {
    if (markers.length > 30) throw new Error('at most 30 end lines');
    this.markers = markers.map((m) => encoder.encode(m));
    this.all = this.alive = (1 << markers.length) - 1;
    this.seen = markers.length === 0;
  }

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    let cr = -2; // next CR at or after i, -1 for none left in this chunk, -2 not looked for yet
    while (!this.seen && i < n) {
      // Compare the line's leading bytes with the markers still in play; most lines drop out within ~8 bytes.
      for (; this.alive !== 0 && i < n; i++) {
        const b = chunk[i]!;
        if (b === LF || b === CR) break;
        let alive = this.alive;
        for (let k = 0; k < this.markers.length; k++) {
          if (!(alive & (1 << k))) continue;
          const m = this.markers[k]!;
          if (m[this.pos] !== b) alive &= ~(1 << k);
          else if (this.pos + 1 === m.length) {
            this.seen = true;
            return;
          }
        }
        this.alive = alive;
        this.pos++;
      }
      // The line's end: LF (the usual case), or a CR (CRLF and CR line ends).
      if (cr !== -1 && cr < i) cr = chunk.indexOf(CR, i);
      const lf = chunk.indexOf(LF, i);
      const end = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
      if (end < 0) return;
      this.alive = this.all;
      this.pos = 0;
      i = end + 1;
    }
  }
}
