// Reading a real engine in tests: its llamacpp:* metrics, SSE bodies, and the generated model's cache directory.
import { join } from 'node:path';
import { readSamples } from '../../../gpu-backends/adapters/prometheus-text.ts';

/** One test run's model cache: the tiny model is generated once into it and shared by the engines. */
export const TEST_MODELS_DIR = join(process.cwd(), '.kvroute', 'models');

export async function engineMetrics(url: string): Promise<Record<string, number>> {
  const names = ['prompt_tokens_total', 'tokens_predicted_total', 'requests_processing', 'requests_deferred', 'kv_cache_usage_ratio', 'kv_cache_tokens'].map((n) => `llamacpp:${n}`);
  const samples = readSamples(await (await fetch(`${url}/metrics`)).text(), names);
  return Object.fromEntries(names.map((n) => [n.slice('llamacpp:'.length), samples.get(n)?.[0] ?? NaN]));
}

/** The `data:` payloads of an SSE body, in order ([DONE] as the string). */
export function sseData(body: string): (Record<string, any> | '[DONE]')[] {
  return body
    .split('\n\n')
    .filter((e) => e.length > 0)
    .map((e) => {
      if (!e.startsWith('data: ')) throw new Error(`not an SSE data event: ${JSON.stringify(e)}`);
      const payload = e.slice('data: '.length);
      return payload === '[DONE]' ? '[DONE]' : JSON.parse(payload);
    });
}

export async function post(url: string, path: string, body: object): Promise<Response> {
  return fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}
