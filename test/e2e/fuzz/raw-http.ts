// A raw HTTP/1.1 client over node:net for requests no well-behaved client would send (odd request lines,
// Content-Length lies, broken chunking). Writes the bytes as given and reads what comes back with http-parser-js,
// so it knows when an answer is complete even on a connection the server keeps open.
import net from 'node:net';
import { HTTPParser } from 'http-parser-js';

export interface RawAnswer {
  status: number;
  /** Lower-cased header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * What became of one request: the first answer on the connection, the connection closing (or being reset)
 * without one, or neither before the deadline.
 */
export type RawOutcome =
  | { kind: 'answered'; answer: RawAnswer; ms: number }
  | { kind: 'closed'; ms: number; partial: Buffer; error?: string }
  | { kind: 'hang'; ms: number; partial: Buffer; lateStatus?: number };

export interface RawRequestOptions {
  port: number;
  host?: string;
  /** Written in order; a pause between pieces lets a server see a partial request first. */
  pieces: Uint8Array[];
  pauseMs?: number;
  deadlineMs: number;
  /** HEAD answers have no body whatever their framing says. */
  head?: boolean;
  /**
   * The rest of an upload the request declared but never sent, written before the connection is closed (after
   * the answer, or at the deadline), as a polite client does: under `wrangler dev`, whose proxy is not in the
   * tests any more, a client that dropped an unfinished upload could restart the Worker or make it exit.
   */
  completion?: Uint8Array;
}

function headerRecord(raw: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    out[name] = name in out ? `${out[name]}, ${raw[i + 1]}` : raw[i + 1]!;
  }
  return out;
}

export function rawRequest(o: RawRequestOptions): Promise<RawOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect({ port: o.port, host: o.host ?? '127.0.0.1' });
    const received: Buffer[] = [];
    const parser = new HTTPParser(HTTPParser.RESPONSE);
    let status = 0;
    let headers: Record<string, string> = {};
    const body: Buffer[] = [];
    let settled = false;
    const finish = (outcome: RawOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (hung) outcome = outcome.kind === 'answered' ? { ...hung, lateStatus: outcome.answer.status } : hung;
      if (o.completion && !completed && !socket.destroyed) {
        socket.end(o.completion);
        setTimeout(() => socket.destroy(), 1_000).unref();
      } else socket.destroy();
      resolve(outcome);
    };
    let completed = false;
    const ms = () => performance.now() - started;
    const partial = () => Buffer.concat(received);
    /** Set at the deadline: whatever comes after it is still a hang (its status is kept for the listing). */
    let hung: (RawOutcome & { kind: 'hang' }) | null = null;
    const timer = setTimeout(() => {
      hung = { kind: 'hang', ms: ms(), partial: partial() };
      if (!o.completion || socket.destroyed) return finish(hung);
      // Let a late answer arrive (its status is listed), then close.
      completed = true;
      socket.write(o.completion);
      setTimeout(() => finish(hung!), 1_000);
    }, o.deadlineMs);

    parser[HTTPParser.kOnHeadersComplete] = (info) => {
      status = info.statusCode;
      headers = headerRecord(info.headers);
      // 1xx interim answers (100 Continue) are not the answer; the parser goes on to the next message.
      return o.head ? 1 : 0;
    };
    parser[HTTPParser.kOnBody] = (chunk, offset, length) => {
      body.push(Buffer.from(chunk.subarray(offset, offset + length)));
    };
    parser[HTTPParser.kOnMessageComplete] = () => {
      if (status >= 100 && status < 200) {
        body.length = 0;
        return;
      }
      finish({ kind: 'answered', answer: { status, headers, body: Buffer.concat(body) }, ms: ms() });
    };

    socket.on('data', (d: Buffer) => {
      received.push(d);
      const r = parser.execute(d);
      if (r instanceof Error) finish({ kind: 'closed', ms: ms(), partial: partial(), error: `unparseable answer: ${r.message}` });
    });
    const onEnd = (error?: string) => {
      // A body framed by the connection's end is complete when the connection ends.
      if (!settled) parser.finish();
      finish({ kind: 'closed', ms: ms(), partial: partial(), error });
    };
    socket.on('end', () => onEnd());
    socket.on('close', () => onEnd());
    socket.on('error', (e) => onEnd(e.message));
    const writePieces = async () => {
      for (const [i, piece] of o.pieces.entries()) {
        if (settled || socket.destroyed) return;
        if (i > 0 && o.pauseMs) await new Promise((r) => setTimeout(r, o.pauseMs));
        if (settled || socket.destroyed) return;
        socket.write(piece);
      }
    };
    // A failure while writing ends the exchange like a socket error, instead of an unhandled rejection.
    socket.on('connect', () => void writePieces().catch((e: unknown) => onEnd(e instanceof Error ? e.message : String(e))));
  });
}
