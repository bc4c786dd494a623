// Admin request input: bodies read as JSON, path parameters, query parameters and headers, each parsed with its
// zod schema (src/config/admin-api.ts). Bad input is an OpenAI-style 400 whose param names the first bad field and
// whose message says where it was and what to fix; no input is ever checked by hand.
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

/** Where a request carries an input. */
export type InputPlace = 'body' | 'query' | 'path' | 'header';

const PLACE: Record<InputPlace, { field: string; whole: string }> = {
  body: { field: 'value for', whole: 'request body' },
  query: { field: 'query parameter', whole: 'query' },
  path: { field: 'path parameter', whole: 'path' },
  header: { field: 'header', whole: 'headers' },
};

/** A 400 for the first problem, naming its field in `param` and in the message. */
export function invalidInput(problems: readonly Problem[], place: InputPlace = 'body', hint?: string): HttpError {
  const first = problems[0];
  const param = first?.path || null;
  const what = param ? `Invalid ${PLACE[place].field} '${param}': ` : `Invalid ${PLACE[place].whole}: `;
  // An unknown key in a query is a parameter, not a field.
  const message = (first?.message ?? 'invalid input').replace('unknown field', place === 'body' ? 'unknown field' : `unknown ${PLACE[place].field}`);
  return new HttpError(400, 'invalid_request_error', `${what}${message}.${hint ? ` ${hint}` : ''}`, 'invalid_value', param);
}

/** Parses one place of the request with `schema`; a 400 naming the field when it does not fit. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, place: InputPlace, hint?: string): z.output<S> {
  const r = parseConfigInput(schema, input);
  if (!r.ok) throw invalidInput(r.issues, place, hint);
  return r.value;
}

/** Reads the body and parses it with `schema`. */
export async function parseBody<S extends z.ZodType>(c: Context, schema: S, opts: BodyOptions = {}): Promise<z.output<S>> {
  return parseInput(schema, await readJson(c, opts), 'body', opts.hint);
}

/** The query string, parsed with `schema` (a strict schema: an unknown parameter is named, not ignored). */
export function parseQuery<S extends z.ZodType>(c: Context, schema: S, hint?: string): z.output<S> {
  return parseInput(schema, c.req.query(), 'query', hint);
}

/** The route's path parameters, parsed with `schema`. */
export function parseParams<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  return parseInput(schema, c.req.param(), 'path');
}

/** The request headers (lower-case names), parsed with `schema`. */
export function parseHeaders<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  return parseInput(schema, c.req.header(), 'header');
}
