// After the response: a finished request's cache receipt (what the engine said it served from its prefix cache) is
// counted on its backend (GET /metrics) and told to the policy that placed the request (RoutingPolicy.onReceipt):
// ground truth for where a prefix lives, without a tokenizer. Runs in the after-response path, never on the
// request's own.
import type { CacheReceipt } from '../types/cache-receipt.ts';
import type { BackendStates } from '../upstream/backend-state.ts';
import type { RequestRecord } from './inference.ts';

const failedPolicies = new Set<string>();

/** `receipt` is null when the response stated no cached tokens; the response is counted all the same. */
export function settleReceipt(rec: RequestRecord, receipt: CacheReceipt | null, states?: BackendStates): void {
  const d = rec.decision;
  if (!d || rec.error || rec.status >= 400) return;
  states?.get(d.backend.url).countReceipt(receipt);
  const placement = rec.placement;
  if (!receipt || !placement?.policy.onReceipt) return;
  try {
    placement.policy.onReceipt(placement.input, d.backend.id, receipt);
  } catch (err) {
    // A policy's bug must cost neither the request's event nor a log line per request.
    if (failedPolicies.has(placement.policy.name)) return;
    failedPolicies.add(placement.policy.name);
    console.error(`kvroute: policy '${placement.policy.name}' failed to take a cache receipt`, err);
  }
}
