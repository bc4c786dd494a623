// Reading a real engine in tests: its llamacpp:* metrics, SSE bodies, and the generated model's cache directory.
import { join } from 'node:path';
import { readSamples } from '../../../gpu-backends/adapters/prometheus-text.ts';
import type { LlamaTimings } from '../../../gpu-backends/adapters/types.ts';

/** One test run's model cache: the tiny model is generated once into it and shared by the engines. */
export const TEST_MODELS_DIR = join(process.cwd(), '.kvroute', 'models');

export async function engineMetrics(url: string): Promise<Record<string, number>> {
  const names = ['prompt_tokens_total', 'tokens_predicted_total', 'requests_processing', 'requests_deferred', 'kv_cache_usage_ratio', 'kv_cache_tokens'].map((n) => `llamacpp:${n}`);
  const samples = readSamples(await (await fetch(`${url}/metrics`)).text(), names);
  return Object.fromEntries(names.map((n) => [n.slice('llamacpp:'.length), samples.get(n)?.[0] ?? NaN]));
}

/** llama-server's usage: the prompt tokens, and how many of them its slot served from cache. */
export interface EngineUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

/**
 * A body or SSE chunk as llama-server shapes them (gpu-backends/llama-engine/responses.ts), with the choice of its
 * route: a whole body carries `usage` and `timings`; a stream's last chunks carry them.
 */
export interface EngineAnswer<Choice> {
  id: string;
  object: string;
  choices: Choice[];
  usage: EngineUsage;
  timings: LlamaTimings;
}

export type ChatAnswer = EngineAnswer<{ index: number; finish_reason: string | null; message: { role: string; content: string } }>;
export type ChatChunk = EngineAnswer<{ index: number; finish_reason: string | null; delta: { role?: string; content?: string | null } }>;
export type CompletionAnswer = EngineAnswer<{ index: number; finish_reason: string | null; text: string }>;

/** The `data:` payloads of an SSE body, in order ([DONE] as the string). */
export function sseData(body: string): unknown[] {
  return body
    .split('\n\n')
    .filter((e) => e.length > 0)
    .map((e): unknown => {
      if (!e.startsWith('data: ')) throw new Error(`not an SSE data event: ${JSON.stringify(e)}`);
      const payload = e.slice('data: '.length);
      return payload === '[DONE]' ? '[DONE]' : JSON.parse(payload);
    });
}

export async function post(url: string, path: string, body: object): Promise<Response> {
  return fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}
