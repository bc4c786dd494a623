// Per-isolate (Workers) / per-replica (Node) admission for shadow legs: a concurrency cap and a daily token
// budget per key (tenant/experiment). Pure state with the clock passed in. On Workers every isolate has its own
// limiter, so the effective global cap is cap x isolates; keep per-isolate caps small.
//
// Tokens: a leg reserves an estimate when it starts (so concurrent legs cannot all squeeze under the budget) and
// settles to the actual usage when it finishes. The budget window is the UTC day.
import { Lease, Leases } from '../../util/leases.ts';

export interface ShadowLimits {
  maxConcurrent: number;
  dailyTokenBudget: number;
  /** A leg's longest run; its slot is taken back if it has not finished by then plus a grace (a dropped context). */
  timeoutMs: number;
}

export type DenyReason = 'concurrency' | 'budget';

export interface ShadowPermit {
  readonly granted: true;
  /** Releases the concurrency slot and replaces the reservation with the tokens actually used. Idempotent. */
  finish(tokensUsed: number, now: number): void;
}

export interface ShadowDenied {
  readonly granted: false;
  reason: DenyReason;
}

interface KeyState {
  /** Concurrency slots as leases (src/util/leases.ts): a leg whose context was dropped stops holding one. */
  slots: Leases;
  day: number;
  spent: number;
  reserved: number;
}

const DAY_MS = 86_400_000;
const SLOT_GRACE_MS = 5_000;

export class ShadowLimiter {
  private states = new Map<string, KeyState>();

  tryStart(key: string, limits: ShadowLimits, now: number, reserveTokens: number): ShadowPermit | ShadowDenied {
    const s = this.state(key, now);
    s.slots.expire(now);
    if (s.slots.size >= limits.maxConcurrent) return { granted: false, reason: 'concurrency' };
    const reserve = Math.max(0, Math.ceil(reserveTokens));
    if (s.spent + s.reserved + reserve > limits.dailyTokenBudget) return { granted: false, reason: 'budget' };
    const slot = s.slots.add(new Lease(now, limits.timeoutMs + SLOT_GRACE_MS));
    s.reserved += reserve;
    const startDay = s.day;
    let done = false;
    return {
      granted: true,
      finish: (tokensUsed: number, at: number) => {
        if (done) return;
        done = true;
        s.slots.release(slot);
        // A leg that started yesterday gave its reservation back at the day rollover (see state()).
        if (s.day === startDay) s.reserved -= reserve;
        const cur = this.state(key, at);
        cur.spent += Math.max(0, tokensUsed);
      },
    };
  }

  /** Snapshot for metrics and tests. */
  usage(key: string, now: number): { inflight: number; spent: number; reserved: number } {
    const s = this.state(key, now);
    return { inflight: s.slots.size, spent: s.spent, reserved: s.reserved };
  }

  private state(key: string, now: number): KeyState {
    const day = Math.floor(now / DAY_MS);
    let s = this.states.get(key);
    if (!s) {
      s = { slots: new Leases(), day, spent: 0, reserved: 0 };
      this.states.set(key, s);
    } else if (s.day !== day) {
      s.day = day;
      s.spent = 0;
      s.reserved = 0;
    }
    return s;
  }
}

/**
 * Token reservation for a request body: prompt characters / 4 plus the requested output cap
 * (max_completion_tokens, max_tokens) or 512 when none is set.
 */
export function estimateShadowTokens(body: { max_tokens?: unknown; max_completion_tokens?: unknown }, promptChars: number): number {
  const cap = Number(body.max_completion_tokens ?? body.max_tokens);
  return Math.ceil(promptChars / 4) + (Number.isFinite(cap) && cap > 0 ? cap : 512);
}
