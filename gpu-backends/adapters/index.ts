// Engine adapters by kind: how the router reads health, load, block size and cache receipts of each engine it fronts.
import { llamaCppAdapter } from './llama-cpp.ts';
import { openaiCompatibleAdapter } from './openai-compatible.ts';
import { sglangAdapter } from './sglang.ts';
import { tgiAdapter } from './tgi.ts';
import type { EngineAdapter, EngineKind } from './types.ts';
import { vllmAdapter } from './vllm.ts';

export type { EngineAdapter, EngineKind, EngineLoad, HeaderLookup, LoadMetricNames, RawReceipt, ReceiptSource, SlotState } from './types.ts';
export { busySlots, metricNamesOf } from './from-metrics.ts';
export { vllmBlockSize } from './vllm.ts';
export { llamaCppAdapter, openaiCompatibleAdapter, sglangAdapter, tgiAdapter, vllmAdapter };

export const ENGINE_ADAPTERS: Readonly<Record<EngineKind, EngineAdapter>> = {
  vllm: vllmAdapter,
  sglang: sglangAdapter,
  tgi: tgiAdapter,
  'llama-cpp': llamaCppAdapter,
  'openai-compatible': openaiCompatibleAdapter,
};

export function adapterFor(kind: EngineKind): EngineAdapter {
  return ENGINE_ADAPTERS[kind];
}
