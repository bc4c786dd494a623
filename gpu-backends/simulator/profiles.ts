// Named engine profiles: a model on a GPU served by vLLM V1 with its defaults, or a small model on a CPU served by
// llama.cpp's llama-server. A profile fixes the engine kind, the KV capacity, the scheduler limits and the
// step-cost model; EngineConfig is a profile plus overrides. Calibration sources are listed per profile and in
// docs/routing.md (llama.cpp) and docs/simulator.md (vLLM).

/**
 * How the engine caches prompts and presents itself. 'vllm': one paged KV cache shared by every request, with
 * automatic prefix caching (kv-cache.ts KvBlockPool), vLLM's metric names and usage. 'llama.cpp': N slots, each
 * keeping the one prompt it last served (kv-cache.ts SlotCache), llama-server's metric names and `timings`.
 */
export type EngineKind = 'vllm' | 'llama.cpp';

export interface EngineConfig {
  /** Profile name this config was built from. */
  profile: string;
  kind: EngineKind;
  /** Tokens per KV block (vLLM default 16). */
  blockSizeTokens: number;
  /** KV-cache capacity in tokens; the pool has floor(capacityTokens / blockSizeTokens) blocks. */
  capacityTokens: number;
  /** Max sequences running at once (vLLM --max-num-seqs; llama.cpp: the slots, --parallel). */
  maxNumSeqs: number;
  /** Token budget per scheduler step, prefill chunks plus one token per decoding sequence (--max-num-batched-tokens). */
  maxNumBatchedTokens: number;
  /** Longest prompt + output accepted (--max-model-len). */
  maxModelLen: number;
  /** Fixed cost of one engine step (ms): weight reads, kernel launches, sampling, scheduling. */
  stepOverheadMs: number;
  /** Cost per prefill token computed in a step (ms): compute-bound matmuls. */
  prefillMsPerToken: number;
  /** Cost per (prefill token x earlier token it attends to) (ms): causal attention, quadratic in prompt length. */
  prefillMsPerAttendedToken: number;
  /** Cost per decoding sequence in a step (ms): per-sequence compute on top of the weight read. */
  decodeMsPerSeq: number;
  /** Cost per context token attended to by decoding sequences (ms): KV-cache reads, memory-bound. */
  decodeMsPerContextToken: number;
  /** Automatic prefix caching (vLLM V1 default: on; llama.cpp: cache_prompt, on). */
  enablePrefixCaching: boolean;
  /**
   * llama.cpp only (--slot-prompt-similarity): a request takes the idle slot sharing the longest common prefix
   * with it when that prefix covers more than this share of its prompt, else the least recently used idle slot.
   */
  slotPromptSimilarity: number;
}

export interface EngineProfile {
  description: string;
  /** Where the numbers come from (kept next to the numbers on purpose). */
  sources: string[];
  config: Omit<EngineConfig, 'profile'>;
}

type VllmConfig = Omit<EngineConfig, 'profile' | 'kind' | 'slotPromptSimilarity'>;
const vllm = (c: VllmConfig): Omit<EngineConfig, 'profile'> => ({ kind: 'vllm', slotPromptSimilarity: 0, ...c });

/** KV bytes per token for a dense GQA model in 16-bit: 2 (K and V) x layers x kv_heads x head_dim x 2 bytes. */
export function kvBytesPerToken(layers: number, kvHeads: number, headDim: number): number {
  return 2 * layers * kvHeads * headDim * 2;
}

export const ENGINE_PROFILES = {
  'llama-3.1-8b-h100': {
    description: 'Llama-3.1-8B-Instruct, bf16, one H100 80GB SXM, vLLM V1 defaults',
    sources: [
      'architecture (Llama-3.1-8B config.json): 32 layers, 8 KV heads x 128 dims, d_model 4096 -> KV 128 KiB/token',
      'capacity: (80 GB - 16 GB weights) / 128 KiB ~ 500k tokens (the GIE prefix scorer LRUCapacityPerServer derivation)',
      'prefill: 2 x 8.03e9 FLOP/token at 44% of 989 TFLOPS bf16 -> ~27k tok/s (0.037 ms/token); 44% is the utilisation implied by NVIDIA NIM benchmarks (Llama-3.3-70B fp8 TP2 on 2x H100: TTFT 406.77 ms for 5000 input tokens at concurrency 1)',
      'attention in prefill: 4 x 32 layers x 4096 FLOP per (token, earlier token) at the same rate -> 1.2e-6 ms',
      'step overhead: reading 16 GB of weights at 80% of 3.35 TB/s -> ~6 ms (vLLM batch-1 ITL for 8B on H100 is ~6-7 ms)',
      'decode: +0.05 ms per sequence (matmul rows, sampling); KV read 128 KiB/token at 80% of 3.35 TB/s -> 5e-5 ms per context token',
      'scheduler: vLLM V1 online-serving defaults on GPUs of >= 70 GiB other than A100 (vllm/engine/arg_utils.py get_batch_defaults): max_num_seqs 1024, max_num_batched_tokens 8192 (chunked prefill); block_size 16',
    ],
    config: vllm({
      blockSizeTokens: 16,
      capacityTokens: 500_000,
      maxNumSeqs: 1024,
      maxNumBatchedTokens: 8192,
      maxModelLen: 131_072,
      stepOverheadMs: 6,
      prefillMsPerToken: 0.037,
      prefillMsPerAttendedToken: 1.2e-6,
      decodeMsPerSeq: 0.05,
      decodeMsPerContextToken: 5e-5,
      enablePrefixCaching: true,
    }),
  },
  'llama-3.1-70b-h100x4': {
    description: 'Llama-3.1-70B-Instruct, bf16, tensor-parallel over 4 H100 80GB SXM, vLLM V1 defaults',
    sources: [
      'architecture: 80 layers, 8 KV heads x 128 dims, d_model 8192 -> KV 320 KiB/token',
      'capacity: (4 x 80 GB x 0.9 - 141 GB weights - ~12 GB activations/graphs) / 320 KiB ~ 400k tokens',
      'prefill: 2 x 70.6e9 FLOP/token at 44% of 4 x 989 TFLOPS -> ~12k tok/s (0.085 ms/token incl. all-reduce); cross-check: NIM Llama-3.3-70B fp8 TP2 (same peak FLOPS) TTFT 406.77 ms / 5000 tokens = 0.081 ms/token',
      'attention in prefill: 4 x 80 layers x 8192 FLOP per (token, earlier token) -> 1.5e-6 ms',
      'step overhead: 141 GB of weights over 4 GPUs at 80% of 3.35 TB/s -> ~13 ms, plus all-reduces -> 16 ms (NIM 70B TP2 fp8 ITL at concurrency 1: 18.58 ms)',
      'decode: +0.12 ms per sequence; KV read 320 KiB/token over 4 GPUs -> 3e-5 ms per context token',
    ],
    config: vllm({
      blockSizeTokens: 16,
      capacityTokens: 400_000,
      maxNumSeqs: 1024,
      maxNumBatchedTokens: 8192,
      maxModelLen: 131_072,
      stepOverheadMs: 16,
      prefillMsPerToken: 0.085,
      prefillMsPerAttendedToken: 1.5e-6,
      decodeMsPerSeq: 0.12,
      decodeMsPerContextToken: 3e-5,
      enablePrefixCaching: true,
    }),
  },
  'llama-cpp-32m-cpu': {
    description: "a 26M-parameter llama (8 layers, 512 wide, F32, byte vocabulary) on one CPU thread, llama-server with 4 slots of 16k tokens",
    sources: [
      'engine: llama-server keeps one prompt per slot (no shared paged cache); a request takes the idle slot whose prompt shares the longest common prefix with it if that covers > --slot-prompt-similarity (0.1) of its prompt, else the least recently used idle slot (tools/server get_available_slot); all slots busy: the request waits in the deferred queue',
      'batching: one llama_decode per iteration over every slot: one token per generating slot plus prompt tokens up to n_batch 2048',
      'timings measured with node-llama-cpp 3.21.1 (its prebuilt CPU llama.cpp), createContext({ sequences: 4, threads: 1, batchSize: 2048 }), random-weight GGUF, on a shared 2-core machine at load ~3: cold prefill 128 / 512 / 1024 / 2048 / 4096 / 8000 tokens: 146 / 728 / 1529 / 3614 / 6690 / 21883 ms; 96 tokens after 4000 cached: 390 ms; one decode step with 1 / 4 sequences at 512 tokens of context: 13.9 / 26.3 ms; 4 x 1024 tokens at once 6339 ms (compute-bound: no faster than one after another)',
      'fit: step overhead 9.5 ms, 1.3 ms per prefill token, 3e-4 ms per (prefill token, earlier token) pair, 4.2 ms per decoding sequence, 3e-4 ms per context token it reads',
    ],
    config: {
      kind: 'llama.cpp',
      blockSizeTokens: 16,
      capacityTokens: 4 * 16_384,
      maxNumSeqs: 4,
      maxNumBatchedTokens: 2048,
      maxModelLen: 16_384,
      stepOverheadMs: 9.5,
      prefillMsPerToken: 1.3,
      prefillMsPerAttendedToken: 3e-4,
      decodeMsPerSeq: 4.2,
      decodeMsPerContextToken: 3e-4,
      enablePrefixCaching: true,
      slotPromptSimilarity: 0.1,
    },
  },
} satisfies Record<string, EngineProfile>;

export type ProfileName = keyof typeof ENGINE_PROFILES;
export const DEFAULT_PROFILE: ProfileName = 'llama-3.1-8b-h100';

export function profileNames(): string[] {
  return Object.keys(ENGINE_PROFILES);
}

/** Builds an EngineConfig from a named profile plus overrides; throws on an unknown name or a nonsensical value. */
export function engineConfig(profile: string = DEFAULT_PROFILE, overrides: Partial<Omit<EngineConfig, 'profile'>> = {}): EngineConfig {
  const base = (ENGINE_PROFILES as Record<string, EngineProfile>)[profile];
  if (!base) throw new Error(`unknown engine profile '${profile}' (known: ${profileNames().join(', ')})`);
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const config: EngineConfig = { profile, ...base.config, ...defined };
  for (const key of ['blockSizeTokens', 'capacityTokens', 'maxNumSeqs', 'maxNumBatchedTokens', 'maxModelLen'] as const) {
    if (!Number.isInteger(config[key]) || config[key] < 1) throw new Error(`${key} must be a positive integer, got ${config[key]}`);
  }
  if (config.capacityTokens < config.blockSizeTokens) throw new Error('capacityTokens must hold at least one block');
  if (config.kind !== 'vllm' && config.kind !== 'llama.cpp') throw new Error(`kind must be 'vllm' or 'llama.cpp', got ${String((config as { kind: unknown }).kind)}`);
  if (!(config.slotPromptSimilarity >= 0 && config.slotPromptSimilarity <= 1)) throw new Error(`slotPromptSimilarity must be in [0, 1], got ${config.slotPromptSimilarity}`);
  for (const key of ['stepOverheadMs', 'prefillMsPerToken', 'prefillMsPerAttendedToken', 'decodeMsPerSeq', 'decodeMsPerContextToken'] as const) {
    if (!(config[key] >= 0)) throw new Error(`${key} must be >= 0, got ${config[key]}`);
  }
  return config;
}

/** Longest prompt + output one request may have: the model's limit, within one slot's share of the KV (llama.cpp) or the whole KV (vLLM). */
export function contextLimit(config: EngineConfig): number {
  const kv = config.kind === 'llama.cpp' ? Math.floor(config.capacityTokens / config.maxNumSeqs) : config.capacityTokens;
  return Math.min(config.maxModelLen, kv);
}
