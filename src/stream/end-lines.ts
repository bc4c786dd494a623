// Tells whether an SSE stream has carried the line that ends it normally (`data: [DONE]` for chat and completions,
// `event: response.completed` and its siblings for the Responses API), chunk by chunk and without buffering.
//
// A marker only counts at the start of a line: JSON-escaped data cannot hold a raw line break, so user text that
// merely contains the words is never at a line start. Only the first few bytes of each line are kept (as many as
// the longest marker), so a marker split across chunks is still seen, at a cost independent of the stream's size.

const LF = 10;
const CR = 13;

export class EndLineDetector {
  /** The stream has carried an end line (always true when no markers are given: any clean close ends it). */
  seen: boolean;
  /** Leading characters of the current line; null once the line can no longer match a marker. */
  private head: string | null = '';
  private readonly longest: number;

  constructor(private readonly markers: readonly string[]) {
    this.seen = markers.length === 0;
    this.longest = Math.max(0, ...markers.map((m) => m.length));
  }

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    while (!this.seen && i < n) {
      if (this.head !== null) {
        // Markers are ASCII: a byte outside it only needs to differ, and one char per byte does that.
        while (i < n && this.head.length < this.longest) {
          const b = chunk[i]!;
          if (b === LF || b === CR) break;
          this.head += String.fromCharCode(b);
          i++;
        }
        if (this.matches(this.head)) {
          this.seen = true;
          return;
        }
        if (this.head.length >= this.longest || !this.markers.some((m) => m.startsWith(this.head!))) this.head = null;
      }
      const end = lineEnd(chunk, i);
      if (end < 0) return;
      this.head = '';
      i = end + 1;
    }
  }

  private matches(head: string): boolean {
    for (const m of this.markers) if (head.startsWith(m)) return true;
    return false;
  }
}

function lineEnd(chunk: Uint8Array, from: number): number {
  const lf = chunk.indexOf(LF, from);
  const cr = chunk.indexOf(CR, from);
  return lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
}
