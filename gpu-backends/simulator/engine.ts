// A discrete-time model of one vLLM V1 engine: a paged KV cache with automatic prefix caching, and a
// continuous-batching scheduler that runs in steps. Pure: no I/O, no timers, no clock. Time (simulated ms)
// is passed in; the HTTP server and the routing lab both drive it.
//
// Scheduler (as vLLM V1's Scheduler.schedule): each step has a token budget. Running requests go first, in
// admission order; each asks for all its not-yet-computed tokens (a prefill chunk, or 1 token when decoding),
// capped by the remaining budget (chunked prefill). A running request that needs a new KV block when none is
// free preempts the most recently admitted running request (recompute preemption: its blocks are freed and it
// goes back to the head of the queue). Then, if nothing was preempted, waiting requests are admitted in FCFS
// order while there is budget, a free sequence slot and KV room; admission looks up the longest cached prefix
// and only the uncached tokens are computed. A request whose prompt is fully computed samples a token at the
// end of the step: its first token, or the next one.
//
// Step duration = overhead + prefill tokens x cost + (prefill token, attended token) pairs x cost + decoding
// sequences x cost + context tokens read by the decoding sequences x cost (profiles.ts has the calibration).
//
// A llama.cpp engine (config.kind 'llama.cpp') runs the same steps (one llama_decode over every slot: a token per
// generating slot, then prompt chunks up to n_batch) but caches per slot (kv-cache.ts SlotCache): a request is
// admitted only into an idle slot, reuses that slot's common prefix with its prompt, and waits in the FIFO
// (llama-server's deferred queue) while every slot is busy. Slots have fixed KV, so nothing is preempted.
import { KvBlockPool, SlotCache } from './kv-cache.ts';
import { contextLimit, engineConfig, type EngineConfig } from './profiles.ts';

export type { EngineConfig } from './profiles.ts';

export interface EngineRequest {
  id: string;
  /**
   * Chained hashes of the prompt's FULL blocks (promptBlockHashes in tokenizer.ts). May continue with the
   * blocks of the text the request will generate (hash of prompt + answer): vLLM caches generated blocks too,
   * so the next turn of a conversation, whose prompt contains this answer, can hit them. Lookups never go
   * past the prompt; a block is cached once it is full of computed tokens.
   */
  blockHashes: readonly number[];
  promptTokens: number;
  /** Tokens to generate (>= 1). */
  maxTokens: number;
  /** Reason reported when maxTokens have been generated: 'stop' when the text ended naturally. Default 'length'. */
  finishReason?: 'length' | 'stop';
}

export type EngineEvent =
  | { kind: 'first_token'; id: string; time: number; cachedTokens: number; /** When its prefill started (it left the queue). */ admittedAt: number }
  | { kind: 'tokens'; id: string; time: number; count: number }
  | { kind: 'finished'; id: string; time: number; reason: 'length' | 'stop' | 'abort' };

export interface EngineSnapshot {
  running: number;
  waiting: number;
  /** Fraction of KV blocks referenced by requests (vllm:kv_cache_usage_perc). */
  kvUsage: number;
  totalBlocks: number;
  usedBlocks: number;
  /** Blocks holding a reusable prefix (referenced or evictable). */
  cachedBlocks: number;
  /** Prompt tokens looked up in the prefix cache, and how many of them hit (vllm:prefix_cache_queries/hits). */
  prefixCacheQueries: number;
  prefixCacheHits: number;
  /** Prompt tokens of requests whose prefill completed (vllm:prompt_tokens). */
  promptTokens: number;
  /** Requests that found every slot busy and waited in the queue (llama.cpp; vLLM counts none). */
  deferred: number;
  /** Tokens generated (vllm:generation_tokens). */
  generationTokens: number;
  preemptions: number;
  evictions: number;
  finished: { length: number; stop: number; abort: number };
  steps: number;
  /** Simulated ms the engine spent executing steps. */
  busyMs: number;
  /** Sim time of the last step boundary or submit seen. */
  now: number;
}

/** Per-request engine state. `computed` counts tokens whose KV is scheduled (vLLM's num_computed_tokens). */
interface Sequence {
  req: EngineRequest;
  /** Prompt plus generated tokens: what must be computed before the next token can be sampled. */
  total: number;
  computed: number;
  generated: number;
  /** KV block ids held, in logical block order. */
  blocks: number[];
  /** Blocks [0, registeredBlocks) have been offered to the prefix cache. */
  registeredBlocks: number;
  /** Prompt tokens found in the prefix cache at first admission. */
  cachedTokens: number;
  admittedOnce: boolean;
  /** llama.cpp: the slot the request runs in. */
  slot: number;
  /** Sim time of the step that first admitted it. */
  admittedAt: number;
  done: boolean;
}

interface StepWork {
  seq: Sequence;
  tokens: number;
}

interface Step {
  end: number;
  work: StepWork[];
}

/** A FIFO with cheap push, shift and (for preemption) unshift. */
class Queue<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  push(x: T): void {
    this.items.push(x);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head]!;
    this.items[this.head++] = undefined as T;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
  unshift(x: T): void {
    if (this.head > 0) this.items[--this.head] = x;
    else this.items.unshift(x);
  }
  remove(x: T): boolean {
    const i = this.items.indexOf(x, this.head);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }
}

/** Zeroed engine counters (at construction and on reset). */
function emptyStats() {
  return {
    prefixCacheQueries: 0,
    prefixCacheHits: 0,
    promptTokens: 0,
    deferred: 0,
    generationTokens: 0,
    preemptions: 0,
    finished: { length: 0, stop: 0, abort: 0 },
    steps: 0,
    busyMs: 0,
  };
}

export class Engine {
  readonly config: EngineConfig;
  private readonly pool: KvBlockPool;
  /** llama.cpp's per-slot prompts (undefined for vLLM, which uses `pool`). */
  private readonly slots: SlotCache | undefined;
  private readonly waiting = new Queue<Sequence>();
  private running: Sequence[] = [];
  private readonly byId = new Map<string, Sequence>();
  private step: Step | undefined;
  /** Sim time at which an idle engine should start its next step (set by submit, planned lazily). */
  private startAt: number | undefined;
  private pending: EngineEvent[] = [];
  private clock = 0;
  /** Requests queued since the last admission pass (the queue's tail): those it leaves waiting were deferred. */
  private arrivedSinceAdmission = 0;
  private slowdown = 1;
  private stats = emptyStats();

  constructor(config: EngineConfig = engineConfig()) {
    this.config = config;
    this.slots = config.kind === 'llama.cpp' ? new SlotCache(config.maxNumSeqs, config.slotPromptSimilarity) : undefined;
    this.pool = new KvBlockPool(this.slots ? 1 : Math.floor(config.capacityTokens / config.blockSizeTokens));
  }

  /** Why the engine would refuse `req` (vLLM answers 400), or undefined if it is acceptable. */
  validate(req: Pick<EngineRequest, 'promptTokens' | 'maxTokens'>): string | undefined {
    if (!(req.promptTokens >= 1)) return 'the prompt must contain at least one token';
    if (!(req.maxTokens >= 1)) return 'max_tokens must be at least 1';
    const limit = contextLimit(this.config);
    if (req.promptTokens + req.maxTokens > limit) {
      return `This model's maximum context length is ${limit} tokens. However, you requested ${req.promptTokens + req.maxTokens} tokens (${req.promptTokens} in the messages, ${req.maxTokens} in the completion). Please reduce the length of the messages or completion.`;
    }
    return undefined;
  }

  /** Queues a request arriving at `now`. Throws if `validate` rejects it or the id is in use. */
  submit(req: EngineRequest, now: number): void {
    const invalid = this.validate(req);
    if (invalid) throw new Error(invalid);
    if (this.byId.has(req.id)) throw new Error(`request id '${req.id}' is already in the engine`);
    this.runUntil(now, false);
    const seq: Sequence = {
      req,
      total: req.promptTokens,
      computed: 0,
      generated: 0,
      blocks: [],
      registeredBlocks: 0,
      cachedTokens: 0,
      admittedOnce: false,
      slot: -1,
      admittedAt: 0,
      done: false,
    };
    this.byId.set(req.id, seq);
    this.waiting.push(seq);
    if (this.slots) this.arrivedSinceAdmission++;
    if (!this.step && this.startAt === undefined) this.startAt = now;
  }

  /** Cancels a request (client went away). Emits `finished` with reason 'abort' at `now`; unknown ids are ignored. */
  abort(id: string, now: number): void {
    this.runUntil(now, false);
    const seq = this.byId.get(id);
    if (!seq) return;
    if (!this.waiting.remove(seq)) this.running = this.running.filter((s) => s !== seq);
    this.arrivedSinceAdmission = Math.min(this.arrivedSinceAdmission, this.waiting.length);
    this.finish(seq, 'abort', now);
  }

  /** Sim time at which the in-progress (or about to start) step completes; undefined when idle. */
  nextEventTime(): number | undefined {
    this.ensurePlanned();
    return this.step?.end;
  }

  /** Runs every step that completes at or before `now`; returns all events since the last call, in time order. */
  advanceTo(now: number): EngineEvent[] {
    this.runUntil(now);
    const out = this.pending;
    this.pending = [];
    return out;
  }

  /** Multiplies every step's duration (fault injection: a throttled or contended GPU). */
  setSlowdown(factor: number): void {
    if (!(factor > 0)) throw new Error(`slowdown must be > 0, got ${factor}`);
    this.slowdown = factor;
  }

  /** Drops unreferenced cached blocks and zeroes the counters (POST /admin/reset). Running work continues. */
  reset(): void {
    this.pool.clearCache();
    this.slots?.clear();
    this.pool.evictions = 0;
    this.stats = emptyStats();
  }

  snapshot(): EngineSnapshot {
    this.ensurePlanned();
    const s = this.stats;
    // llama.cpp: every slot's prompt stays in the KV cells until the slot is reused (kv_cache_usage_ratio).
    const totalBlocks = this.slots ? Math.floor(this.config.capacityTokens / this.config.blockSizeTokens) : this.pool.totalBlocks;
    const usedBlocks = this.slots ? this.slots.heldBlocks + this.running.reduce((a, q) => a + Math.max(0, this.blocksFor(q.computed) - q.registeredBlocks), 0) : this.pool.usedBlocks;
    return {
      running: this.running.length,
      waiting: this.waiting.length,
      kvUsage: Math.min(1, usedBlocks / totalBlocks),
      totalBlocks,
      usedBlocks,
      cachedBlocks: this.slots ? this.slots.heldBlocks : this.pool.cachedBlocks,
      prefixCacheQueries: s.prefixCacheQueries,
      prefixCacheHits: s.prefixCacheHits,
      promptTokens: s.promptTokens,
      deferred: s.deferred,
      generationTokens: s.generationTokens,
      preemptions: s.preemptions,
      evictions: this.pool.evictions,
      finished: { ...s.finished },
      steps: s.steps,
      busyMs: s.busyMs,
      now: this.clock,
    };
  }

  /** Whether `id` is queued or running. */
  has(id: string): boolean {
    return this.byId.has(id);
  }

  /**
   * Completes every step ending at or before `now`. With `startDue` false, a step due to start exactly at `now`
   * stays unplanned, so that requests submitted at the same instant join the same first step.
   */
  private runUntil(now: number, startDue = true): void {
    if (startDue || (this.startAt !== undefined && this.startAt < now)) this.ensurePlanned();
    while (this.step && this.step.end <= now) {
      const step = this.step;
      this.step = undefined;
      this.complete(step);
      this.plan(step.end);
    }
    if (now > this.clock) this.clock = now;
  }

  private ensurePlanned(): void {
    if (!this.step && this.startAt !== undefined) {
      const t = this.startAt;
      this.startAt = undefined;
      this.plan(t);
    }
  }

  /** Chooses the work of a step starting at `t` and its duration (vLLM: Scheduler.schedule). */
  private plan(t: number): void {
    this.startAt = undefined;
    if (t > this.clock) this.clock = t;
    const cfg = this.config;
    let budget = cfg.maxNumBatchedTokens;
    const work: StepWork[] = [];
    let preempted = false;

    for (let i = 0; i < this.running.length && budget > 0; i++) {
      const seq = this.running[i]!;
      const tokens = Math.min(seq.total - seq.computed, budget);
      if (this.slots) {
        // A slot's KV is its own: nothing to allocate, nothing to preempt.
        seq.computed += tokens;
        budget -= tokens;
        work.push({ seq, tokens });
        continue;
      }
      const needed = this.blocksFor(seq.computed + tokens) - seq.blocks.length;
      let fits = this.pool.allocate(needed, seq.blocks);
      while (!fits) {
        const victim = this.running[this.running.length - 1]!;
        this.preempt(victim);
        preempted = true;
        if (victim === seq) break;
        fits = this.pool.allocate(needed, seq.blocks);
      }
      if (!fits) break; // seq itself was preempted: it was the last running request
      seq.computed += tokens;
      this.registerFullBlocks(seq);
      budget -= tokens;
      work.push({ seq, tokens });
    }

    if (this.slots) budget = this.admitToSlots(t, budget, work);
    while (!this.slots && !preempted && budget > 0 && this.waiting.length > 0 && this.running.length < cfg.maxNumSeqs) {
      const seq = this.waiting.peek()!;
      const bs = cfg.blockSizeTokens;
      // vLLM recomputes at least the last prompt token (it needs its logits), so a full hit stops one short.
      const maxHitBlocks = cfg.enablePrefixCaching ? Math.floor((seq.total - 1) / bs) : 0;
      const match = this.pool.matchPrefix(seq.req.blockHashes, maxHitBlocks);
      const cached = match.blocks * bs;
      const tokens = Math.min(seq.total - cached, budget);
      const needed = this.blocksFor(cached + tokens) - match.blocks;
      if (needed > this.pool.availableBlocks - match.evictable) break; // head-of-line waits for KV room
      this.waiting.shift();
      this.pool.pinPrefix(seq.req.blockHashes, match.blocks, seq.blocks);
      this.pool.allocate(needed, seq.blocks);
      seq.registeredBlocks = match.blocks;
      seq.computed = cached + tokens;
      if (!seq.admittedOnce) {
        seq.admittedOnce = true;
        seq.cachedTokens = cached;
        seq.admittedAt = t;
      }
      if (cfg.enablePrefixCaching) {
        this.stats.prefixCacheQueries += seq.total;
        this.stats.prefixCacheHits += cached;
      }
      this.registerFullBlocks(seq);
      this.running.push(seq);
      budget -= tokens;
      work.push({ seq, tokens });
    }

    if (work.length === 0) return; // idle (nothing runnable; a valid request always fits an empty engine)
    let prefillTokens = 0;
    let attendedPairs = 0;
    let decodeSeqs = 0;
    let contextTokens = 0;
    for (const w of work) {
      if (w.seq.generated > 0 && w.tokens === 1 && w.seq.computed === w.seq.total) {
        decodeSeqs++;
        contextTokens += w.seq.computed;
      } else {
        // A chunk of n tokens ending at position `computed` attends to (start .. computed) earlier tokens each.
        const n = w.tokens;
        prefillTokens += n;
        attendedPairs += n * (w.seq.computed - n) + (n * (n + 1)) / 2;
      }
    }
    const duration =
      (cfg.stepOverheadMs +
        prefillTokens * cfg.prefillMsPerToken +
        attendedPairs * cfg.prefillMsPerAttendedToken +
        decodeSeqs * cfg.decodeMsPerSeq +
        contextTokens * cfg.decodeMsPerContextToken) *
      this.slowdown;
    this.stats.steps++;
    this.stats.busyMs += duration;
    this.step = { end: t + duration, work };
  }

  /**
   * llama.cpp admission: while a slot is idle, the head of the queue takes the slot get_available_slot gives it,
   * keeps that slot's common prefix with its prompt and prefills the rest (from the next step if this step's
   * batch is full). Requests that arrived since the last pass and find no idle slot are deferred. Returns the
   * budget left.
   */
  private admitToSlots(t: number, budget: number, work: StepWork[]): number {
    const slots = this.slots!;
    const bs = this.config.blockSizeTokens;
    while (this.waiting.length > 0 && slots.idle > 0) {
      const seq = this.waiting.shift()!;
      const hashes = seq.req.blockHashes;
      // As vLLM, the last prompt token is always computed (its logits are needed), so a full hit stops one short.
      const maxBlocks = this.config.enablePrefixCaching ? Math.floor((seq.total - 1) / bs) : 0;
      const choice = slots.choose(hashes, Math.floor(seq.req.promptTokens / bs), maxBlocks)!;
      slots.take(choice);
      seq.slot = choice.slot;
      const cached = choice.blocks * bs;
      seq.registeredBlocks = choice.blocks;
      const tokens = Math.min(seq.total - cached, budget);
      seq.computed = cached + tokens;
      if (!seq.admittedOnce) {
        seq.admittedOnce = true;
        seq.cachedTokens = cached;
        seq.admittedAt = t;
      }
      if (this.config.enablePrefixCaching) {
        this.stats.prefixCacheQueries += seq.total;
        this.stats.prefixCacheHits += cached;
      }
      this.running.push(seq);
      budget -= tokens;
      if (tokens > 0) work.push({ seq, tokens });
    }
    this.stats.deferred += Math.min(this.arrivedSinceAdmission, this.waiting.length);
    this.arrivedSinceAdmission = 0;
    return budget;
  }

  /** Applies a finished step: sequences that caught up sample one token. */
  private complete(step: Step): void {
    const t = step.end;
    for (const { seq } of step.work) {
      if (seq.done || seq.computed < seq.total) continue; // aborted, or a prefill chunk that is not the last
      seq.generated++;
      seq.total++;
      this.stats.generationTokens++;
      if (seq.generated === 1) {
        this.stats.promptTokens += seq.req.promptTokens;
        this.pending.push({ kind: 'first_token', id: seq.req.id, time: t, cachedTokens: seq.cachedTokens, admittedAt: seq.admittedAt });
      } else {
        this.pending.push({ kind: 'tokens', id: seq.req.id, time: t, count: 1 });
      }
      if (seq.generated >= seq.req.maxTokens) {
        this.finish(seq, seq.req.finishReason ?? 'length', t);
      }
    }
    if (this.running.some((s) => s.done)) this.running = this.running.filter((s) => !s.done);
  }

  private finish(seq: Sequence, reason: 'length' | 'stop' | 'abort', t: number): void {
    seq.done = true;
    // llama.cpp: the slot keeps what it computed (prompt and answer) for the next request that matches it.
    if (this.slots && seq.slot >= 0) this.slots.release(seq.slot, seq.req.blockHashes, Math.floor(seq.computed / this.config.blockSizeTokens));
    this.pool.release(seq.blocks);
    seq.blocks = [];
    this.byId.delete(seq.req.id);
    this.stats.finished[reason]++;
    this.pending.push({ kind: 'finished', id: seq.req.id, time: t, reason });
  }

  /** Recompute preemption: free everything and go back to the head of the queue (vLLM V1). */
  private preempt(seq: Sequence): void {
    this.running.pop();
    this.pool.release(seq.blocks);
    seq.blocks = [];
    seq.registeredBlocks = 0;
    seq.computed = 0;
    this.stats.preemptions++;
    this.waiting.unshift(seq);
  }

  /** Blocks now full of scheduled tokens become reusable cache entries (vLLM cache_blocks). */
  private registerFullBlocks(seq: Sequence): void {
    if (!this.config.enablePrefixCaching) return;
    const hashes = seq.req.blockHashes;
    const full = Math.min(Math.floor(seq.computed / this.config.blockSizeTokens), hashes.length);
    for (let b = seq.registeredBlocks; b < full; b++) this.pool.register(seq.blocks[b]!, hashes[b]!);
    if (full > seq.registeredBlocks) seq.registeredBlocks = full;
  }

  private blocksFor(tokens: number): number {
    return Math.ceil(tokens / this.config.blockSizeTokens);
  }
}

/** Prompt tokens the engine did not find cached, i.e. wrote to its cache: what vLLM's
 * prefix_cache_queries_total - prefix_cache_hits_total reads. */
export function uncachedPromptTokens(s: Pick<EngineSnapshot, 'prefixCacheQueries' | 'prefixCacheHits'>): number {
  return s.prefixCacheQueries - s.prefixCacheHits;
}
