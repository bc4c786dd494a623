// Any OpenAI-compatible server (a hosted API, LiteLLM, ...): no load metrics are assumed, and health is the one
// path every such server has, GET /v1/models. The router then relies on its own in-flight counts. Block size 16
// is only the granularity the router hashes prefixes at. Cached tokens are read wherever a response states them:
// OpenAI's usage details, or llama.cpp's timings (a llama-server configured as openai-compatible still gives
// receipts; configure it as 'llama-cpp' to read its load too).
import { defineAdapter } from './define.ts';

export const openaiCompatibleAdapter = defineAdapter({
  kind: 'openai-compatible',
  healthPath: '/v1/models',
  blockSizeTokens: 16,
  metricNames: { running: [], waiting: [], kvUsage: [] },
  receiptSources: ['usage', 'timings'],
});
