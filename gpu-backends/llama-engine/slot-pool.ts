// Slot selection and the wait queue, as llama-server does it: a request takes the free slot whose cached tokens
// share the longest common prefix with its prompt (if that prefix is more than `similarity` of the prompt),
// else the least recently used free slot; when every slot is busy it waits, first come first served, and counts
// as deferred. Pure logic over token arrays: the engine owns the sequences behind the slots.

export interface SlotView {
  readonly id: number;
  /** The tokens whose KV state the slot holds (its cached prefix). */
  cachedTokens(): readonly number[];
}

export function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

interface Waiter<S> {
  prompt: readonly number[];
  resolve: (slot: S) => void;
  reject: (err: Error) => void;
}

export class SlotPool<S extends SlotView> {
  private readonly busy = new Set<number>();
  private readonly lastUsed = new Map<number, number>();
  private readonly waiting: Waiter<S>[] = [];
  private clock = 0;

  /** `similarity`: llama-server's --slot-prompt-similarity (default 0.1; 0 = always the least recently used). */
  constructor(
    readonly slots: readonly S[],
    private readonly similarity = 0.1,
  ) {
    if (slots.length === 0) throw new Error('a slot pool needs at least one slot');
  }

  get processing(): number {
    return this.busy.size;
  }

  get deferred(): number {
    return this.waiting.length;
  }

  isBusy(id: number): boolean {
    return this.busy.has(id);
  }

  /**
   * A slot for `prompt`, now or when one frees up. An aborted signal takes the request out of the queue (or
   * releases the slot it was just given) and rejects.
   */
  acquire(prompt: readonly number[], signal?: AbortSignal): Promise<S> {
    if (signal?.aborted) return Promise.reject(abortError());
    if (this.waiting.length === 0) {
      const slot = this.pick(prompt);
      if (slot) return Promise.resolve(this.take(slot));
    }
    return new Promise<S>((resolve, reject) => {
      const waiter: Waiter<S> = { prompt, resolve, reject };
      this.waiting.push(waiter);
      signal?.addEventListener('abort', () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) {
          this.waiting.splice(i, 1);
          reject(abortError());
        }
      }, { once: true });
    });
  }

  release(slot: S): void {
    if (!this.busy.delete(slot.id)) return;
    this.lastUsed.set(slot.id, ++this.clock);
    // First come, first served: the head of the queue picks among the free slots (best prefix match first).
    while (this.waiting.length > 0) {
      const free = this.pick(this.waiting[0]!.prompt);
      if (!free) break;
      this.waiting.shift()!.resolve(this.take(free));
    }
  }

  /** Rejects every waiting request (shutdown). */
  rejectWaiting(err: Error): void {
    for (const w of this.waiting.splice(0)) w.reject(err);
  }

  private take(slot: S): S {
    this.busy.add(slot.id);
    return slot;
  }

  /** llama-server's get_available_slot: best prefix similarity above the threshold, else least recently used. */
  private pick(prompt: readonly number[]): S | undefined {
    let best: S | undefined;
    let bestSim = 0;
    if (this.similarity > 0 && prompt.length > 0) {
      for (const s of this.slots) {
        if (this.busy.has(s.id)) continue;
        const sim = commonPrefixLength(s.cachedTokens(), prompt) / prompt.length;
        if (sim > bestSim && sim > this.similarity) {
          bestSim = sim;
          best = s;
        }
      }
    }
    if (best) return best;
    let lru: S | undefined;
    for (const s of this.slots) {
      if (this.busy.has(s.id)) continue;
      if (!lru || (this.lastUsed.get(s.id) ?? 0) < (this.lastUsed.get(lru.id) ?? 0)) lru = s;
    }
    return lru;
  }
}

function abortError(): Error {
  const err = new Error('the request was cancelled while it waited for a slot');
  err.name = 'AbortError';
  return err;
}
