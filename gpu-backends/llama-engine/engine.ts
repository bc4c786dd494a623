// The CPU engine: one llama.cpp context (node-llama-cpp, prebuilt CPU binary) with N sequences as llama-server's
// slots. A request takes a slot (slot-pool.ts), keeps the KV state of the prefix it shares with what the slot
// holds, evaluates only the rest of its prompt, then generates up to max_tokens. What was reused and what was
// evaluated is measured on the sequence's own token meter, so cache_n and prompt_n are the engine's facts.
import { basename } from 'node:path';
import { getLlama, LlamaLogLevel, TokenBias, type ChatWrapper, type Llama, type LlamaContext, type LlamaContextSequence, type LlamaModel, type Token } from 'node-llama-cpp';
import { EngineMetrics } from './metrics.ts';
import { OutputText } from './output-text.ts';
import { chatWrapperFor, promptTokens } from './prompt.ts';
import { EngineError, type EngineRequest, type PromptInput } from './request.ts';
import { commonPrefixLength, SlotPool, type SlotView } from './slot-pool.ts';
import { isPrintableByteToken, TINY_MODEL_NAME } from './tiny-model.ts';
import type { LlamaTimings } from '../adapters/types.ts';

export interface EngineOptions {
  modelPath: string;
  /** Context sequences (llama-server's --parallel / slots). */
  slots: number;
  /** Tokens per slot. */
  contextSize: number;
  threads: number;
  /** Generated tokens when a request sets no max_tokens (llama-server's --n-predict). */
  defaultMaxTokens: number;
  /** llama-server's --slot-prompt-similarity. */
  slotPromptSimilarity: number;
  /** Served model name (llama-server's --alias); default: the file name without .gguf. */
  alias?: string;
}

/** llama-server's `timings` object. */
export type Timings = LlamaTimings;

export interface GenerationResult {
  text: string;
  promptTokens: number;
  completionTokens: number;
  finishReason: 'stop' | 'length';
  timings: Timings;
  slotId: number;
}

/** One slot: a context sequence and what llama-server's /slots shows about its current or last task. */
export class EngineSlot implements SlotView {
  taskId = -1;
  nPromptTokens = 0;
  nPromptProcessed = 0;
  nPromptCache = 0;
  nDecoded = 0;
  nRemain = -1;
  hasNewLine = false;
  params: Record<string, unknown> | undefined;

  constructor(
    readonly id: number,
    readonly sequence: LlamaContextSequence,
  ) {}

  cachedTokens(): readonly number[] {
    return this.sequence.contextTokens;
  }
}

function perToken(n: number, ms: number): Pick<Timings, 'prompt_per_token_ms' | 'prompt_per_second'> {
  return { prompt_per_token_ms: n > 0 ? ms / n : 0, prompt_per_second: ms > 0 ? (1000 * n) / ms : 0 };
}

function timingsOf(cacheN: number, promptN: number, promptMs: number, predictedN: number, predictedMs: number): Timings {
  const p = perToken(promptN, promptMs);
  const g = perToken(predictedN, predictedMs);
  return {
    cache_n: cacheN,
    prompt_n: promptN,
    prompt_ms: promptMs,
    ...p,
    predicted_n: predictedN,
    predicted_ms: predictedMs,
    predicted_per_token_ms: g.prompt_per_token_ms,
    predicted_per_second: g.prompt_per_second,
  };
}

/**
 * TokenBias refuses end-of-generation tokens ("never" is ignored for them), but llama-server's ignore_eos is
 * exactly a -inf logit bias on them. node-llama-cpp 3.21.1 (pinned) passes its bias map to the native sampler
 * as is, so the engine writes them there.
 */
function banTokens(bias: TokenBias, tokens: readonly Token[]): void {
  const map = (bias as unknown as { _biases?: unknown })._biases;
  if (!(map instanceof Map)) throw new Error('node-llama-cpp TokenBias internals changed: the engine needs node-llama-cpp 3.21.1 exactly');
  for (const t of tokens) map.set(t, -Infinity);
}

export class LlamaEngine {
  readonly metrics = new EngineMetrics();
  readonly pool: SlotPool<EngineSlot>;
  readonly modelName: string;
  readonly vocabularySize: number;
  readonly parameterCount: number;
  /** system_fingerprint of responses (llama-server puts its build there). */
  readonly fingerprint: string;
  private readonly chatWrapper: ChatWrapper;
  /** Bias when EOS is ignored (EOG banned), and when it is not; both keep the tiny model's output printable. */
  private readonly biasIgnoreEos: TokenBias;
  private readonly biasWithEos: TokenBias;
  private nextTaskId = 0;
  private closed = false;

  private constructor(
    readonly llama: Llama,
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    readonly options: EngineOptions,
  ) {
    this.modelName = options.alias ?? basename(options.modelPath).replace(/\.gguf$/i, '');
    this.chatWrapper = chatWrapperFor(model);
    const tensors = model.fileInfo.tensorInfo ?? [];
    this.vocabularySize = Number(tensors.find((t) => t.name === 'token_embd.weight')?.dimensions[1] ?? 0);
    this.parameterCount = tensors.reduce((a, t) => a + t.dimensions.reduce<number>((p, d) => p * Number(d), 1), 0);
    this.fingerprint = `llama.cpp-${llama.llamaCppRelease.release}+node-llama-cpp`;
    const slots = Array.from({ length: options.slots }, (_, i) => new EngineSlot(i, context.getSequence()));
    this.pool = new SlotPool(slots, options.slotPromptSimilarity);
    const eog: Token[] = [];
    const unprintable: Token[] = [];
    // The generated model's output is noise: keep it printable ASCII (and newline) so that it is valid text.
    const printableOnly = model.fileInfo.metadata.general?.name === TINY_MODEL_NAME;
    for (let t = 0; t < this.vocabularySize; t++) {
      const token = t as Token;
      if (model.isEogToken(token)) eog.push(token);
      else if (printableOnly && !isPrintableByteToken(t)) unprintable.push(token);
    }
    this.biasWithEos = new TokenBias(model.tokenizer);
    banTokens(this.biasWithEos, unprintable);
    this.biasIgnoreEos = new TokenBias(model.tokenizer);
    banTokens(this.biasIgnoreEos, [...unprintable, ...eog]);
  }

  static async load(options: EngineOptions): Promise<LlamaEngine> {
    // The prebuilt CPU binary: never a build step, never a GPU probe.
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, maxThreads: options.threads });
    const model = await llama.loadModel({ modelPath: options.modelPath });
    const context = await model.createContext({ sequences: options.slots, contextSize: options.contextSize, threads: options.threads });
    return new LlamaEngine(llama, model, context, options);
  }

  get slotContextSize(): number {
    return this.context.contextSize;
  }

  tokenize(input: PromptInput): Token[] {
    return promptTokens(this.model, this.chatWrapper, input, this.vocabularySize);
  }

  /** Tokens held in every slot's KV state, for /metrics. */
  kvTokens(): number {
    return this.pool.slots.reduce((a, s) => a + s.sequence.nextTokenIndex, 0);
  }

  /**
   * Runs one request: waits for a slot, reuses its cached prefix, generates. `onText` receives the text as it is
   * generated (whole UTF-8 characters only). An aborted signal stops it (the slot is released either way).
   */
  async generate(req: EngineRequest, prompt: Token[], onText: (text: string) => void, signal?: AbortSignal): Promise<GenerationResult> {
    if (this.closed) throw new EngineError('The engine is shutting down.', 503, 'unavailable_error', null, 'unavailable');
    const n_ctx = this.slotContextSize;
    if (prompt.length === 0) throw new EngineError('prompt: the prompt has no tokens.', 400, 'invalid_request_error', 'prompt', 'invalid_value');
    if (prompt.length >= n_ctx) {
      throw new EngineError(
        `the request exceeds the available context size (${prompt.length} prompt tokens, ${n_ctx} per slot): shorten the prompt or start the engine with a larger --context`,
        400,
        'exceed_context_size_error',
        'messages',
        'context_length_exceeded',
      );
    }
    const maxTokens = Math.min(req.maxTokens ?? this.options.defaultMaxTokens, n_ctx - prompt.length);
    const slot = await this.pool.acquire(prompt, signal);
    try {
      return await this.runOnSlot(slot, req, prompt, maxTokens, onText, signal);
    } finally {
      this.pool.release(slot);
    }
  }

  private async runOnSlot(slot: EngineSlot, req: EngineRequest, prompt: Token[], maxTokens: number, onText: (text: string) => void, signal?: AbortSignal): Promise<GenerationResult> {
    const seq = slot.sequence;
    // At least the last prompt token is evaluated: its logits give the first generated token (as llama-server).
    const keep = Math.min(commonPrefixLength(seq.contextTokens, prompt), prompt.length - 1);
    if (keep < seq.nextTokenIndex) await seq.eraseContextTokenRanges([{ start: keep, end: seq.nextTokenIndex }]);
    slot.taskId = this.nextTaskId++;
    slot.nPromptTokens = prompt.length;
    slot.nDecoded = 0;
    slot.nRemain = maxTokens;
    slot.hasNewLine = false;
    slot.params = { n_predict: maxTokens, max_tokens: maxTokens, seed: req.seed ?? -1, temperature: req.temperature ?? 0, top_p: req.topP ?? 0.95, stop: req.stop, ignore_eos: req.ignoreEos, stream: req.stream, samplers: ['temperature'] };

    const meter = seq.tokenMeter;
    const evaluated = () => meter.usedInputTokens + meter.usedOutputTokens;
    const before = evaluated();
    const t0 = performance.now();
    let tFirst = t0;
    let promptN = prompt.length - keep;
    const generated: Token[] = [];
    let pending: Token[] = [];
    const output = new OutputText(req.stop);
    const send = (piece: string) => {
      const ready = output.push(piece);
      if (ready.includes('\n')) slot.hasNewLine = true;
      if (ready) onText(ready);
    };
    /** Detokenizes what is pending; an incomplete UTF-8 character (U+FFFD at the end) waits for its last byte. */
    const decodePending = (final: boolean) => {
      if (pending.length === 0) return;
      const context = generated.slice(Math.max(0, generated.length - pending.length - 8), generated.length - pending.length);
      const piece = this.model.detokenize(pending, false, context);
      if (!final && piece.endsWith('\uFFFD') && pending.length < 4) return;
      pending = [];
      send(piece);
    };
    let finishReason: 'stop' | 'length' = 'length';

    const iterator = seq.evaluate(prompt.slice(keep), {
      temperature: req.temperature ?? 0,
      topP: req.topP,
      seed: req.seed,
      tokenBias: req.ignoreEos ? this.biasIgnoreEos : this.biasWithEos,
    });
    for await (const token of iterator) {
      if (generated.length === 0) {
        tFirst = performance.now();
        // What the sequence evaluated for this prompt, from its meter: the truth about reuse.
        promptN = evaluated() - before;
        this.metrics.recordPrompt(promptN, tFirst - t0);
      }
      generated.push(token);
      pending.push(token);
      slot.nDecoded = generated.length;
      slot.nRemain = maxTokens - generated.length;
      decodePending(false);
      if (output.stopped || generated.length >= maxTokens || signal?.aborted) break;
    }
    // Ended by a stop string, or by itself: an end-of-generation token (only when EOS is not ignored).
    if (output.stopped || (generated.length < maxTokens && !signal?.aborted)) finishReason = 'stop';
    decodePending(true);
    const rest = output.flush();
    if (rest) onText(rest);
    const tEnd = performance.now();
    if (generated.length === 0) {
      promptN = evaluated() - before;
      this.metrics.recordPrompt(promptN, tEnd - t0);
    }
    const predictedMs = generated.length > 0 ? tEnd - tFirst : 0;
    this.metrics.recordPredicted(generated.length, predictedMs);
    this.metrics.noteSlotTokens(seq.nextTokenIndex);
    const cacheN = Math.max(0, prompt.length - promptN);
    slot.nPromptProcessed = promptN;
    slot.nPromptCache = cacheN;
    return {
      text: output.text,
      promptTokens: prompt.length,
      completionTokens: generated.length,
      finishReason,
      timings: timingsOf(cacheN, promptN, tFirst - t0, generated.length, predictedMs),
      slotId: slot.id,
    };
  }

  /** llama-server's GET /slots entries. */
  slotsJson(): object[] {
    return this.pool.slots.map((s) => ({
      id: s.id,
      n_ctx: this.slotContextSize,
      speculative: false,
      is_processing: this.pool.isBusy(s.id),
      ...(s.params
        ? {
            id_task: s.taskId,
            n_prompt_tokens: s.nPromptTokens,
            n_prompt_tokens_processed: s.nPromptProcessed,
            n_prompt_tokens_cache: s.nPromptCache,
            params: s.params,
            next_token: { has_next_token: this.pool.isBusy(s.id) && s.nRemain > 0, has_new_line: s.hasNewLine, n_remain: s.nRemain, n_decoded: s.nDecoded },
          }
        : {}),
    }));
  }

  /** llama-server's POST /slots/{id}?action=erase: drops the slot's cached prefix. Returns the tokens erased. */
  async eraseSlot(id: number): Promise<number> {
    const slot = this.pool.slots[id];
    if (!slot) throw new EngineError(`no slot ${id}: slots are 0..${this.pool.slots.length - 1}`, 400, 'invalid_request_error', 'id_slot', 'invalid_value');
    if (this.pool.isBusy(id)) throw new EngineError(`slot ${id} is processing a request; erase it when it is idle`, 503, 'unavailable_error', 'id_slot', 'slot_busy');
    const erased = slot.sequence.nextTokenIndex;
    await slot.sequence.clearHistory();
    return erased;
  }

  metricsText(): string {
    return this.metrics.render({
      processing: this.pool.processing,
      deferred: this.pool.deferred,
      kvTokens: this.kvTokens(),
      kvCapacity: this.slotContextSize * this.pool.slots.length,
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.pool.rejectWaiting(new EngineError('The engine is shutting down.', 503, 'unavailable_error', null, 'unavailable'));
    await this.llama.dispose();
  }
}
