// Deterministic, sticky experiment assignment and shadow sampling. Pure: no state, no I/O, only the shared
// 32-bit hashes, so a sticky key gets the same arm in every edge location, every isolate and both runtimes.
//
// Assignment: bucket = floor(unitFloat(hashString(stickyKey, hashString(salt))) * 10000); arm i owns the bucket
// range [C(i-1), C(i)) where C is the running sum of weight*100 in arm order.
//
// Exact re-weighting guarantee (tested): a key changes arm only if its bucket lies between an old and a new
// cumulative boundary C(i). So
//   * arms whose two boundaries did not move keep every one of their keys;
//   * when weight moves between two ADJACENT arms (e.g. [control 90, treatment 10] -> [80, 20]), exactly
//     |delta| of the keys move, all from the arm that shrank to the arm that grew (the minimum possible);
//   * appending a new last arm that takes weight from the arm before it moves only keys into the new arm.
// Moving weight between non-adjacent arms also shifts the arms in between, so put the arms you trade weight
// between next to each other (typically: control first, the treatment being ramped right after it).
import { ASSIGNMENT_BUCKETS, type Arm, type Experiment } from '../config/experiments.ts';
import { hashString, unitFloat } from '../util/hash.ts';
import type { ShadowPlan } from './shadow/orchestrate.ts';

export type StickySource = 'header' | 'user' | 'api_key' | 'request';

export interface StickyKey {
  /** The hashed value, namespaced by source so that equal strings from different sources stay distinct. */
  key: string;
  source: StickySource;
}

export interface StickyInputs {
  /** The request body's OpenAI `user` field, if a non-empty string. */
  bodyUser?: unknown;
  /** Request headers (a Headers object or a lower-cased record). */
  headers?: Headers | Readonly<Record<string, string | undefined>>;
  /** The authenticated API key's id (never the secret). */
  apiKeyId?: string;
  /** Last resort when nothing else is present: the request id (assignment is then per request, not sticky). */
  requestId?: string;
}

const MAX_KEY_CHARS = 256;

function headerValue(headers: StickyInputs['headers'], name: string): string | undefined {
  if (!headers) return undefined;
  const v = typeof (headers as Headers).get === 'function' ? (headers as Headers).get(name) : (headers as Record<string, string | undefined>)[name];
  return v ?? undefined;
}

/**
 * Precedence (first non-empty wins):
 *   1. the header named in `experiment.stickyKey.header` (an explicit operator choice, e.g. a session or end-user
 *      id that the application sets);
 *   2. the body's OpenAI `user` field (the conventional end-user id);
 *   3. the API key id (all traffic of one key shares an arm);
 *   4. the request id (not sticky; only when the request has none of the above).
 * Values are trimmed and capped at 256 characters.
 */
export function stickyKeyOf(inputs: StickyInputs, experiment: Pick<Experiment, 'stickyKey'>): StickyKey {
  const header = experiment.stickyKey.header;
  if (header) {
    const v = headerValue(inputs.headers, header)?.trim();
    if (v) return { key: `h:${v.slice(0, MAX_KEY_CHARS)}`, source: 'header' };
  }
  if (typeof inputs.bodyUser === 'string') {
    const v = inputs.bodyUser.trim();
    if (v) return { key: `u:${v.slice(0, MAX_KEY_CHARS)}`, source: 'user' };
  }
  if (inputs.apiKeyId) return { key: `k:${inputs.apiKeyId}`, source: 'api_key' };
  return { key: `r:${inputs.requestId ?? ''}`, source: 'request' };
}

/** The assignment bucket in [0, 10000) of a sticky key under a salt. */
export function bucketOf(salt: string, stickyKey: string): number {
  return Math.floor(unitFloat(hashString(stickyKey, hashString(salt))) * ASSIGNMENT_BUCKETS);
}

export interface Assignment {
  arm: Arm;
  armIndex: number;
  bucket: number;
}

/** Maps a sticky key to an arm through cumulative weights in arm order (see the guarantee at the top). */
export function assignArm(experiment: Pick<Experiment, 'salt' | 'arms'>, stickyKey: string | StickyKey): Assignment {
  const key = typeof stickyKey === 'string' ? stickyKey : stickyKey.key;
  const bucket = bucketOf(experiment.salt, key);
  let upper = 0;
  const arms = experiment.arms;
  for (let i = 0; i < arms.length; i++) {
    const arm = arms[i]!;
    upper += Math.round(arm.weight * 100);
    if (bucket < upper) return { arm, armIndex: i, bucket };
  }
  // Unreachable for a validated config (weights sum to 100); the last non-zero arm is the safe answer.
  let last = arms.length - 1;
  // The schema requires at least one arm, so arms[last] exists.
  while (last > 0 && arms[last]!.weight === 0) last--;
  return { arm: arms[last]!, armIndex: last, bucket };
}

const NO_SHADOW: ShadowPlan = { shadow: false, noiseFloor: false };

/**
 * Samples shadow traffic by a hash of the request id (independent of the arm hash: different seeds), so the
 * decision is reproducible from the logged request id. The noise-floor leg is sampled among shadowed requests.
 * Concurrency and token budget are checked separately, by the limiter, when the leg is about to start.
 */
export function shouldShadow(experiment: Pick<Experiment, 'salt' | 'shadow'>, requestId: string): ShadowPlan {
  const s = experiment.shadow;
  if (!s || s.sampleRate <= 0) return NO_SHADOW;
  const seed = hashString(experiment.salt, 0x5ad0);
  if (unitFloat(hashString(requestId, seed)) >= s.sampleRate) return NO_SHADOW;
  const noiseFloor = s.noiseFloorRate > 0 && unitFloat(hashString(requestId, seed ^ 0x9e3779b9)) < s.noiseFloorRate;
  return { shadow: true, noiseFloor };
}
