// Any OpenAI-compatible server (a hosted API, llama.cpp server, LiteLLM, ...): no load metrics are assumed, and
// health is the one path every such server has, GET /v1/models. The router then relies on its own in-flight
// counts. Block size 16 is only the granularity the router hashes prefixes at.
import { loadFromSimHeaders } from './from-metrics.ts';
import type { EngineAdapter } from './types.ts';

export const openaiCompatibleAdapter: EngineAdapter = {
  kind: 'openai-compatible',
  healthPath: '/v1/models',
  blockSizeTokens: 16,
  metricNames: { running: [], waiting: [], kvUsage: [] },
  parseLoad: () => ({}),
  parseLoadHeaders: loadFromSimHeaders,
};
