// Admin request bodies: read as JSON, parsed with a zod schema. A bad body is an OpenAI-style 400 whose param
// names the first bad field; no body is ever checked by hand.
import type { Context } from 'hono';
import type { z } from 'zod';
import { parseConfigInput, type Problem } from '../src/config/schema.ts';
import { errors, HttpError } from '../src/api/errors.ts';
import { readLimited } from './read-body.ts';

/** Admin bodies are configs and small objects: bounded like inference bodies, so none can hold a connection. */
const ADMIN_BODY_BYTES = 4 * 1024 * 1024;
const ADMIN_BODY_MS = 5_000;

export interface BodyOptions {
  /** What an empty body means (omit: an empty body is invalid JSON). */
  empty?: unknown;
  /** Appended to every error: what a valid body looks like. */
  hint?: string;
}

/** The request body as JSON; a 400 `invalid_json` when it is not. */
export async function readJson(c: Context, opts: BodyOptions = {}): Promise<unknown> {
  const text = await readLimited(c.req.raw, ADMIN_BODY_BYTES, ADMIN_BODY_MS);
  if (!text.trim() && opts.empty !== undefined) return opts.empty;
  try {
    return JSON.parse(text);
  } catch (e) {
    const base = errors.badJson((e as Error).message);
    throw opts.hint ? new HttpError(base.status, base.type, `${base.message} ${opts.hint}`, base.code) : base;
  }
}

/** A 400 for the first problem, naming its field in `param` and in the message. */
export function invalidBody(problems: readonly Problem[], hint?: string): HttpError {
  const first = problems[0];
  const param = first?.path || null;
  const what = param ? `Invalid value for '${param}': ` : 'Invalid request body: ';
  return new HttpError(400, 'invalid_request_error', `${what}${first?.message ?? 'invalid input'}.${hint ? ` ${hint}` : ''}`, 'invalid_value', param);
}

/** Reads the body and parses it with `schema`. */
export async function parseBody<S extends z.ZodType>(c: Context, schema: S, opts: BodyOptions = {}): Promise<z.output<S>> {
  const r = parseConfigInput(schema, await readJson(c, opts));
  if (!r.ok) throw invalidBody(r.issues, opts.hint);
  return r.value;
}
