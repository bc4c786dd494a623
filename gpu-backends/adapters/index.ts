// Engine adapters by kind: how the router reads health, load and block size of each engine it fronts.
import { openaiCompatibleAdapter } from './openai-compatible.ts';
import { sglangAdapter } from './sglang.ts';
import { tgiAdapter } from './tgi.ts';
import type { EngineAdapter, EngineKind } from './types.ts';
import { vllmAdapter } from './vllm.ts';

export type { EngineAdapter, EngineKind, EngineLoad, HeaderLookup, LoadMetricNames } from './types.ts';
export { vllmBlockSize } from './vllm.ts';
export { openaiCompatibleAdapter, sglangAdapter, tgiAdapter, vllmAdapter };

export const ENGINE_ADAPTERS: Readonly<Record<EngineKind, EngineAdapter>> = {
  vllm: vllmAdapter,
  sglang: sglangAdapter,
  tgi: tgiAdapter,
  'openai-compatible': openaiCompatibleAdapter,
};

export function adapterFor(kind: EngineKind): EngineAdapter {
  return ENGINE_ADAPTERS[kind];
}
