// Small HTTP helpers of the simulator: bounded JSON bodies, JSON/text replies, OpenAI-style errors, load headers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Engine, uncachedPromptTokens } from './engine.ts';
import type { RequestFaults } from './faults.ts';
import { RequestError } from './openai-request.ts';
import { errorBody } from './openai-response.ts';

const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** The engine's load as response headers (x-sim-running, x-sim-waiting, x-sim-kv-usage, x-sim-uncached-tokens). */
export function loadHeaders(engine: Engine): Record<string, string> {
  const s = engine.snapshot();
  return {
    'x-sim-running': String(s.running),
    'x-sim-waiting': String(s.waiting),
    'x-sim-kv-usage': s.kvUsage.toFixed(4),
    'x-sim-uncached-tokens': String(uncachedPromptTokens(s)),
  };
}

/** Reads and parses a JSON body; on failure it answers the error itself and returns undefined. */
export async function readJson(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      sendError(res, new RequestError(`Request body larger than ${MAX_BODY_BYTES} bytes.`, 413, 'BadRequestError'));
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    sendError(res, new RequestError(`JSON decode error: ${(err as Error).message}`));
    return undefined;
  }
}

export function sendError(res: ServerResponse, err: RequestError): void {
  sendJson(res, err.status, errorBody(err.message, err.type, err.status, err.param));
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, type: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Answers a request whose fault draw is an engine error or a rate limit; true when it did. */
export function answeredByFault(res: ServerResponse, faults: RequestFaults): boolean {
  if (faults.error) {
    sendJson(res, faults.error.status, errorBody('Simulated engine failure (fault injection).', 'InternalServerError', faults.error.status));
    return true;
  }
  if (faults.rateLimit) {
    res.setHeader('retry-after', String(faults.rateLimit.retryAfterSeconds));
    sendJson(res, 429, errorBody('Rate limit reached (fault injection). Retry after the time in Retry-After.', 'requests', 'rate_limit_exceeded'));
    return true;
  }
  return false;
}
