// Fault injection for one simulated backend: what can go wrong, how often, and the per-request draw.
// Durations are in simulated ms (divided by the time scale on the wall clock), like every other time.
// Draws are deterministic: request k of a backend draws from hash(seed, k, fault), so a run is reproducible.
import { z } from 'zod';
import { combine32, fmix32, unitFloat } from '../../src/util/hash.ts';

const rate = z.number().min(0).max(1).default(1);

export const faultsSchema = z
  .object({
    /** Answer a share of requests with a 5xx before doing any work. */
    error: z.object({ rate, status: z.number().int().min(500).max(599).default(500) }).strict().optional(),
    /** Answer a share of requests with 429 and a Retry-After header (seconds). */
    rateLimit: z.object({ rate, retryAfterSeconds: z.number().int().min(0).default(1) }).strict().optional(),
    /** Hold a request for `ms` before it reaches the engine: nothing is sent before the first token. */
    stallBeforeFirstToken: z.object({ rate, ms: z.number().min(0) }).strict().optional(),
    /** After `afterTokens` tokens have been sent, send nothing more for `ms`. */
    stallMidStream: z.object({ rate, ms: z.number().min(0), afterTokens: z.number().int().min(1).default(1) }).strict().optional(),
    /** After `afterTokens` tokens have been sent, destroy the socket (no [DONE], no clean close). */
    dieMidStream: z.object({ rate, afterTokens: z.number().int().min(1).default(1) }).strict().optional(),
    /** Every engine step takes `factor` times longer (a throttled or shared GPU). */
    slowDecode: z.object({ factor: z.number().min(1) }).strict().optional(),
    /** Stop accepting connections (ECONNREFUSED); with `ms`, accept again after that long. */
    refuseConnections: z.object({ ms: z.number().min(0).optional() }).strict().optional(),
  })
  .strict();

export type Faults = z.infer<typeof faultsSchema>;
export type FaultsInput = z.input<typeof faultsSchema>;

export function parseFaults(input: unknown): Faults {
  return faultsSchema.parse(input ?? {});
}

/** What the faults decide for one request. */
export interface RequestFaults {
  error?: { status: number };
  rateLimit?: { retryAfterSeconds: number };
  stallBeforeFirstTokenMs?: number;
  stallMidStream?: { ms: number; afterTokens: number };
  dieAfterTokens?: number;
}

const SALTS = { error: 1, rateLimit: 2, stallBefore: 3, stallMid: 4, die: 5 } as const;

/** Draws the faults of the `index`-th request of a backend. */
export function drawFaults(faults: Faults, seed: number, index: number): RequestFaults {
  const base = combine32(fmix32(seed >>> 0), index >>> 0);
  const hit = (salt: number, r: number) => r > 0 && unitFloat(combine32(base, salt)) < r;
  const out: RequestFaults = {};
  if (faults.error && hit(SALTS.error, faults.error.rate)) out.error = { status: faults.error.status };
  else if (faults.rateLimit && hit(SALTS.rateLimit, faults.rateLimit.rate)) out.rateLimit = { retryAfterSeconds: faults.rateLimit.retryAfterSeconds };
  if (faults.stallBeforeFirstToken && hit(SALTS.stallBefore, faults.stallBeforeFirstToken.rate)) out.stallBeforeFirstTokenMs = faults.stallBeforeFirstToken.ms;
  if (faults.stallMidStream && hit(SALTS.stallMid, faults.stallMidStream.rate)) {
    out.stallMidStream = { ms: faults.stallMidStream.ms, afterTokens: faults.stallMidStream.afterTokens };
  }
  if (faults.dieMidStream && hit(SALTS.die, faults.dieMidStream.rate)) out.dieAfterTokens = faults.dieMidStream.afterTokens;
  return out;
}
