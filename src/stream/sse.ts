// Incremental Server-Sent Events parser and an OpenAI-stream observer built on it. Pure: chunks and clock
// readings go in, a summary comes out (TTFT, finish_reason, usage, output text). The router taps the primary
// stream with it; the shadow runner reads the shadow leg with it.
//
// Allocation-light: one streaming TextDecoder, one carry-over string for a partial line, and one JSON.parse per
// `data:` event (needed for usage / finish_reason). Output text is only accumulated when asked, up to a cap.
// Usage, finish_reason and cache receipts are sanitised by completion-facts.ts (backends are untrusted).
import type { CacheReceipt } from '../types/cache-receipt.ts';
import { completionFacts, firstChoice, type ReceiptReader, type Usage } from './completion-facts.ts';

export interface SseEvent {
  /** The `event:` field, '' when absent (OpenAI streams never set it). */
  event: string;
  /** The `data:` lines joined by '\n'. */
  data: string;
}

/** Line-oriented SSE framing per the WHATWG spec: \n, \r\n or \r line ends; blank line dispatches. */
export class SseParser {
  private decoder = new TextDecoder();
  private carry = '';
  private lastWasCR = false;
  private dataLines: string[] = [];
  private eventName = '';

  /** Feeds a chunk; calls `onEvent` for every complete event. */
  push(chunk: Uint8Array | string, onEvent: (e: SseEvent) => void): void {
    const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    this.scan(text, onEvent);
  }

  /** Flushes the decoder; a final event without its blank line is dispatched (servers that just close). */
  end(onEvent: (e: SseEvent) => void): void {
    const rest = this.decoder.decode();
    if (rest) this.scan(rest, onEvent);
    if (this.carry) {
      this.line(this.carry, onEvent);
      this.carry = '';
    }
    this.dispatch(onEvent);
  }

  private scan(text: string, onEvent: (e: SseEvent) => void): void {
    let start = 0;
    let i = 0;
    if (this.lastWasCR && text.charCodeAt(0) === 10) start = i = 1; // the \n of a \r\n split across chunks
    this.lastWasCR = false;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.carry ? this.carry + text.slice(start, i) : text.slice(start, i);
      this.carry = '';
      this.line(line, onEvent);
      if (c === 13) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === 10) i++;
        } else this.lastWasCR = true;
      }
      start = i + 1;
    }
    if (start < text.length) this.carry += text.slice(start);
  }

  private line(line: string, onEvent: (e: SseEvent) => void): void {
    if (line.length === 0) return this.dispatch(onEvent);
    if (line.charCodeAt(0) === 58) return; // ':' comment / keepalive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') this.dataLines.push(value);
    else if (field === 'event') this.eventName = value;
  }

  private dispatch(onEvent: (e: SseEvent) => void): void {
    if (this.dataLines.length === 0) {
      this.eventName = '';
      return;
    }
    const data = this.dataLines.length === 1 ? this.dataLines[0]! : this.dataLines.join('\n');
    const event = this.eventName;
    this.dataLines = [];
    this.eventName = '';
    onEvent({ event, data });
  }
}

export type { Usage } from './completion-facts.ts';

export interface CompletionSummary {
  /** ms from start to the first event that carries output (content, reasoning or a tool call); null if none. */
  ttftMs: number | null;
  /** ms from start to the first body byte; null if no byte arrived. */
  firstByteMs: number | null;
  /** Data events seen (excluding [DONE]). */
  events: number;
  /** The stream ended with `data: [DONE]` (a stream without it was truncated). */
  done: boolean;
  finishReason: string | null;
  usage: Usage | null;
  /** The engine's cache receipt (last stated wins), when read with its adapter and the engine stated one. */
  receipt?: CacheReceipt;
  /** Output text of choice 0 (content, then tool-call names and arguments), when collected. */
  text: string;
  textTruncated: boolean;
  /** An `{"error": ...}` object sent in the stream or body, as its message. */
  error: string | null;
}

export interface ObserverOptions {
  /** Clock reading (ms) when the request was sent; TTFT and first byte are relative to it. */
  startedAt: number;
  /** Accumulate output text (the shadow comparison needs it; a plain tap does not). */
  collectText?: boolean;
  /** Cap on collected characters (default 100k). */
  maxTextChars?: number;
  /** The answering engine's adapter: reads cache receipts (llama.cpp states them in its last chunk's timings). */
  receipts?: ReceiptReader;
}

function errorMessage(e: unknown): string {
  if (typeof e === 'string') return e;
  const message = field(e, 'message');
  if (typeof message === 'string') return message;
  return JSON.stringify(e).slice(0, 500);
}

/** `o[key]` when `o` is an object (parsed upstream JSON, any shape), else undefined. */
function field(o: unknown, key: string): unknown {
  return o && typeof o === 'object' ? (o as Record<string, unknown>)[key] : undefined;
}

/** The text a tool call adds to the tapped completion text: its function's name and arguments. */
function toolCallText(tc: unknown): string {
  const fn = field(tc, 'function');
  const name = field(fn, 'name');
  const args = field(fn, 'arguments');
  return (typeof name === 'string' ? name : '') + (typeof args === 'string' ? args : '');
}

const MAY_CARRY_SUMMARY = /"finish_reason"\s*:\s*"|"usage"\s*:\s*\{|"timings"\s*:\s*\{|"error"\s*:/;

/** Observes an OpenAI-compatible completion stream (chat or legacy completions). */
export class CompletionStreamObserver {
  private parser = new SseParser();
  private readonly startedAt: number;
  private readonly collectText: boolean;
  private readonly maxTextChars: number;
  private readonly receipts: ReceiptReader | undefined;
  private now = 0;
  private s: CompletionSummary = {
    ttftMs: null,
    firstByteMs: null,
    events: 0,
    done: false,
    finishReason: null,
    usage: null,
    text: '',
    textTruncated: false,
    error: null,
  };
  private readonly onEvent = (e: SseEvent) => this.event(e);

  constructor(opts: ObserverOptions) {
    this.startedAt = opts.startedAt;
    this.collectText = opts.collectText ?? false;
    this.maxTextChars = opts.maxTextChars ?? 100_000;
    this.receipts = opts.receipts;
  }

  push(chunk: Uint8Array | string, now: number): void {
    if (this.s.firstByteMs === null) this.s.firstByteMs = now - this.startedAt;
    this.now = now;
    this.parser.push(chunk, this.onEvent);
  }

  end(now: number): CompletionSummary {
    this.now = now;
    this.parser.end(this.onEvent);
    return this.s;
  }

  get summary(): Readonly<CompletionSummary> {
    return this.s;
  }

  private event(e: SseEvent): void {
    const data = e.data;
    if (data === '[DONE]') {
      this.s.done = true;
      return;
    }
    this.s.events++;
    // Fast path for a plain tap: once TTFT is known, only events that may carry finish_reason, usage, timings or
    // an error need parsing (a false positive only costs a parse; the patterns cannot miss those fields).
    if (!this.collectText && this.s.ttftMs !== null && !MAY_CARRY_SUMMARY.test(data)) return;
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      return; // not JSON: nothing to learn from it
    }
    const error = field(msg, 'error');
    if (error) this.s.error = errorMessage(error);
    const facts = completionFacts(msg, this.receipts);
    if (facts.usage) this.s.usage = facts.usage;
    if (facts.finishReason) this.s.finishReason = facts.finishReason;
    if (facts.receipt) this.s.receipt = facts.receipt;
    const choice = firstChoice(msg);
    if (!choice) return;
    const delta = choice.delta;
    const content = field(delta, 'content');
    let out = '';
    if (typeof content === 'string') out = content;
    else if (typeof choice.text === 'string') out = choice.text;
    const reasoning = field(delta, 'reasoning_content');
    const hasReasoning = typeof reasoning === 'string' && reasoning.length > 0;
    const toolCalls = field(delta, 'tool_calls');
    if (Array.isArray(toolCalls)) {
      for (const tc of toolCalls) out += toolCallText(tc);
    }
    if (this.s.ttftMs === null && (out.length > 0 || hasReasoning)) this.s.ttftMs = this.now - this.startedAt;
    if (out && this.collectText) this.append(out);
  }

  private append(out: string): void {
    const room = this.maxTextChars - this.s.text.length;
    if (room <= 0) {
      this.s.textTruncated = true;
      return;
    }
    if (out.length > room) {
      this.s.text += out.slice(0, room);
      this.s.textTruncated = true;
    } else this.s.text += out;
  }
}

/**
 * Summarises a non-streaming completion body (chat or legacy completions). TTFT is left to the caller; `receipts`
 * (the engine's adapter) reads its cache receipt.
 */
export function summariseCompletionBody(body: string, maxTextChars = 100_000, receipts?: ReceiptReader): Omit<CompletionSummary, 'ttftMs' | 'firstByteMs'> {
  const out: Omit<CompletionSummary, 'ttftMs' | 'firstByteMs'> = {
    events: 0,
    done: true,
    finishReason: null,
    usage: null,
    text: '',
    textTruncated: false,
    error: null,
  };
  let msg: unknown;
  try {
    msg = JSON.parse(body);
  } catch {
    out.error = 'response body is not JSON';
    return out;
  }
  const error = field(msg, 'error');
  if (error) out.error = errorMessage(error);
  const facts = completionFacts(msg, receipts);
  out.usage = facts.usage;
  out.finishReason = facts.finishReason;
  if (facts.receipt) out.receipt = facts.receipt;
  const choice = firstChoice(msg);
  if (choice) {
    const content = field(choice.message, 'content');
    let text = typeof content === 'string' ? content : typeof choice.text === 'string' ? choice.text : '';
    const toolCalls = field(choice.message, 'tool_calls');
    if (Array.isArray(toolCalls)) {
      for (const tc of toolCalls) text += toolCallText(tc);
    }
    out.textTruncated = text.length > maxTextChars;
    out.text = out.textTruncated ? text.slice(0, maxTextChars) : text;
  }
  return out;
}
