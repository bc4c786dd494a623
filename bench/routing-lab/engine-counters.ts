// The engines' own count of prompt tokens they processed (not served from their prefix cache), read from their
// metrics through the engine's adapter: llama.cpp's llamacpp:prompt_tokens_total, vLLM's and SGLang's prompt
// tokens less their prefix-cache hits. A replay reads it before and after, so the difference is its own traffic
// (on engines nobody else sends to).
import { adapterFor, type EngineKind } from '../../gpu-backends/adapters/index.ts';

/** Per URL, the counter now; null when the engine kind has no such counter. Throws when a scrape fails. */
export async function readProcessedPromptTokens(urls: readonly string[], engine: EngineKind, apiKey?: string): Promise<number[] | null> {
  const adapter = adapterFor(engine);
  if (!adapter.metricsPath || !adapter.metricNames.uncached) return null;
  const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  return Promise.all(
    urls.map(async (u) => {
      const res = await fetch(`${u}${adapter.metricsPath}`, { headers, signal: AbortSignal.timeout(30_000) });
      if (!res.ok) throw new Error(`${u}${adapter.metricsPath} answered ${res.status}${adapter.metricsHint ? ` (${adapter.metricsHint})` : ''}`);
      const n = adapter.parseLoad(await res.text()).uncachedPromptTokens;
      if (n === undefined) throw new Error(`${u}${adapter.metricsPath} has no processed-prompt-token counter of engine kind '${engine}'${adapter.metricsHint ? ` (${adapter.metricsHint})` : ''}`);
      return n;
    }),
  );
}
