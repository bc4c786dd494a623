// Data read back from storage or from another isolate (KV, a Durable Object, a file) is parsed with its zod schema
// before it is trusted. What does not fit fails the requests that need it, with a message that says where it came
// from and what to do, and is logged; it never surfaces as a TypeError deep inside an unrelated step.
import type { z } from 'zod';

/**
 * Stored data without the shape this version of the router expects. Clients get it as a 503 `stored_data_invalid`
 * (src/errors.ts renders it), only for the requests that need that data.
 */
export class StoredDataError extends Error {
  readonly status = 503;
  readonly code = 'stored_data_invalid';

  constructor(where: string, error: z.ZodError, hint: string) {
    super(`${where} does not have the expected shape${issueSuffix(error)}. ${hint}`);
    this.name = 'StoredDataError';
  }
}

/** The first issue of a failed parse, to append to what was parsed: " at 'a.b': what is wrong" (no path at the top). */
export function issueSuffix(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue?.path.length ? ` at '${issue.path.join('.')}'` : ''}: ${issue?.message ?? 'invalid'}`;
}

/**
 * Parses a Durable Object method's argument (it comes from another isolate, maybe of another version): what does
 * not fit is the caller's fault, a RangeError "invalid <what> at 'field': ..." that RPC hands back as it is.
 */
export function parseArgument<T>(what: string, schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new RangeError(`invalid ${what}${issueSuffix(r.error)}`);
}

/**
 * Parses stored data; a StoredDataError (logged) that says where it came from when it does not fit. `where` names
 * the data ("The stored config of tenant 'acme'"), `hint` what fixes it.
 */
export function parseStored<T>(schema: z.ZodType<T>, value: unknown, where: string, hint = 'Write it again through the admin API.'): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const err = new StoredDataError(where, r.error, hint);
  console.error(`kvroute: ${err.message}`);
  throw err;
}
