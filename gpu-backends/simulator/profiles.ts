// Named engine profiles: a model on a GPU, served by vLLM V1 with its defaults. A profile fixes the KV
// capacity, the scheduler limits and the step-cost model; EngineConfig is a profile plus overrides.
// Calibration sources are listed per profile and in README.md (section "Simulated GPU pool").

export interface EngineConfig {
  /** Profile name this config was built from. */
  profile: string;
  /** Tokens per KV block (vLLM default 16). */
  blockSizeTokens: number;
  /** KV-cache capacity in tokens; the pool has floor(capacityTokens / blockSizeTokens) blocks. */
  capacityTokens: number;
  /** Max sequences running at once (vLLM --max-num-seqs). */
  maxNumSeqs: number;
  /** Token budget per scheduler step, prefill chunks plus one token per decoding sequence (--max-num-batched-tokens). */
  maxNumBatchedTokens: number;
  /** Longest prompt + output accepted (--max-model-len). */
  maxModelLen: number;
  /** Fixed cost of one engine step (ms): weight reads, kernel launches, sampling, scheduling. */
  stepOverheadMs: number;
  /** Cost per prefill token computed in a step (ms): compute-bound matmuls. */
  prefillMsPerToken: number;
  /** Cost per decoding sequence in a step (ms): per-sequence compute on top of the weight read. */
  decodeMsPerSeq: number;
  /** Cost per context token attended to by decoding sequences (ms): KV-cache reads, memory-bound. */
  decodeMsPerContextToken: number;
  /** Automatic prefix caching (vLLM V1 default: on). */
  enablePrefixCaching: boolean;
}

export interface EngineProfile {
  description: string;
  /** Where the numbers come from (kept next to the numbers on purpose). */
  sources: string[];
  config: Omit<EngineConfig, 'profile'>;
}

/** KV bytes per token for a dense GQA model in 16-bit: 2 (K and V) x layers x kv_heads x head_dim x 2 bytes. */
export function kvBytesPerToken(layers: number, kvHeads: number, headDim: number): number {
  return 2 * layers * kvHeads * headDim * 2;
}

export const ENGINE_PROFILES = {
  'llama-3.1-8b-h100': {
    description: 'Llama-3.1-8B-Instruct, bf16, one H100 80GB SXM, vLLM V1 defaults',
    sources: [
      'KV: 32 layers x 8 KV heads x 128 dims -> 128 KiB/token; (80 GB - 16 GB weights) / 128 KiB ~ 500k tokens (GIE LRUCapacityPerServer derivation)',
      'prefill ~25k tok/s on H100 for 8B bf16 (16 GFLOP/token at ~40% of 989 TFLOPS)',
      'decode: ~6.5 ms/token at batch 1 (vLLM v0.6 blog, Lambda vLLM benchmark), rising with batch and context',
    ],
    config: {
      blockSizeTokens: 16,
      capacityTokens: 500_000,
      maxNumSeqs: 256,
      maxNumBatchedTokens: 8192,
      maxModelLen: 131_072,
      stepOverheadMs: 6,
      prefillMsPerToken: 0.04,
      decodeMsPerSeq: 0.06,
      decodeMsPerContextToken: 0.00005,
      enablePrefixCaching: true,
    },
  },
  'llama-3.1-70b-h100x4': {
    description: 'Llama-3.1-70B-Instruct, bf16, tensor-parallel over 4 H100 80GB SXM, vLLM V1 defaults',
    sources: [
      'KV: 80 layers x 8 KV heads x 128 dims -> 320 KiB/token; (4 x 80 GB x 0.9 - 141 GB weights - activations) / 320 KiB ~ 400k tokens',
      'prefill ~5k tok/s (140 GFLOP/token at ~35% of 4 x 989 TFLOPS)',
      'decode: ~17 ms/token at batch 1 on TP4 (Lambda vLLM benchmark)',
    ],
    config: {
      blockSizeTokens: 16,
      capacityTokens: 400_000,
      maxNumSeqs: 256,
      maxNumBatchedTokens: 8192,
      maxModelLen: 131_072,
      stepOverheadMs: 16,
      prefillMsPerToken: 0.2,
      decodeMsPerSeq: 0.15,
      decodeMsPerContextToken: 0.00003,
      enablePrefixCaching: true,
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
  for (const key of ['stepOverheadMs', 'prefillMsPerToken', 'decodeMsPerSeq', 'decodeMsPerContextToken'] as const) {
    if (!(config[key] >= 0)) throw new Error(`${key} must be >= 0, got ${config[key]}`);
  }
  return config;
}
