// The Node buffer's on-disk spool: NDJSON segment files in one directory, oldest first by name, plus the
// dead-letter file. Synchronous on purpose: a spill must be on disk before the caller goes on.
//   * sealed segments are written whole: tmp file, fsync, rename, fsync the directory (complete or absent);
//   * the open segment (while the store is failing) is appended to event by event: each append is in the kernel
//     at once, so a killed process loses none of it, and seal() fsyncs and renames it into place (a machine crash
//     loses at most what was appended since the last seal);
//   * a `.tmp` segment found at start is from a process that died: its lines are replayed, a torn last one is
//     reported as unparseable.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { DeadLetter } from '../dead-letter.ts';

const SEGMENT = /^\d{15}-\d{8}\.ndjson(\.tmp)?$/;
const SUFFIX = '.ndjson';
const TMP = '.ndjson.tmp';
export const DEAD_LETTER_FILE = 'dead-letters.ndjson';

export interface SegmentContent {
  /** Lines that parsed as JSON (not yet checked to be events). */
  items: unknown[];
  /** Lines that did not parse, as found. */
  unparseable: string[];
}

export class Spool {
  private seq = 0;
  private open: { fd: number; tmp: string; final: string; count: number } | null = null;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** Segment files in the directory, oldest first (a new process calls this once, to replay them). */
  list(): string[] {
    return readdirSync(this.dir).filter((n) => SEGMENT.test(n)).sort().map((n) => join(this.dir, n));
  }

  /** Writes `objects` as one sealed segment; returns its path. */
  writeSegment(objects: readonly unknown[]): string {
    const { tmp, final } = this.newName();
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, ndjson(objects));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, final);
    this.fsyncDir();
    return final;
  }

  /** Appends to the open segment (opening one if needed). */
  append(objects: readonly unknown[]): void {
    if (objects.length === 0) return;
    if (!this.open) {
      const { tmp, final } = this.newName();
      this.open = { fd: openSync(tmp, 'a'), tmp, final, count: 0 };
    }
    writeSync(this.open.fd, ndjson(objects));
    this.open.count += objects.length;
  }

  /** Events in the open segment (0 when none is open). */
  get openCount(): number {
    return this.open?.count ?? 0;
  }

  /** fsyncs the open segment and renames it into place; returns its path, or null when none was open. */
  seal(): string | null {
    const o = this.open;
    if (!o) return null;
    this.open = null;
    try {
      fsyncSync(o.fd);
    } finally {
      closeSync(o.fd);
    }
    renameSync(o.tmp, o.final);
    this.fsyncDir();
    return o.final;
  }

  /** Reads a segment; null when it cannot be read (reported by the caller). */
  read(path: string): SegmentContent | null {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return null;
    }
    const out: SegmentContent = { items: [], unparseable: [] };
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        out.items.push(JSON.parse(line));
      } catch {
        out.unparseable.push(line);
      }
    }
    return out;
  }

  remove(path: string): void {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }

  /** Appends dead letters to the dead-letter file, fsync'd: this file is their complete record. */
  appendDeadLetters(letters: readonly DeadLetter[]): void {
    if (letters.length === 0) return;
    const fd = openSync(join(this.dir, DEAD_LETTER_FILE), 'a');
    try {
      writeSync(fd, ndjson(letters));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  private newName(): { tmp: string; final: string } {
    for (;;) {
      const name = `${String(Date.now()).padStart(15, '0')}-${String(this.seq++ % 1e8).padStart(8, '0')}`;
      const tmp = join(this.dir, name + TMP);
      const final = join(this.dir, name + SUFFIX);
      // A segment of an earlier process can carry the same name only if it was written in the same millisecond.
      if (!existsSync(tmp) && !existsSync(final)) return { tmp, final };
    }
  }

  private fsyncDir(): void {
    try {
      const fd = openSync(this.dir, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch {
      // some filesystems do not support fsync on directories; the rename is still atomic
    }
  }
}

function ndjson(objects: readonly unknown[]): string {
  let text = '';
  for (const o of objects) text += JSON.stringify(o) + '\n';
  return text;
}
