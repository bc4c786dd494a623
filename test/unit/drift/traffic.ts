// Seeded synthetic chat traffic for the drift tests: realistic-looking request bodies and response observations,
// with knobs for the shifts the calibration tests apply.
import type { ResponseObservation } from '../../../src/drift/features.ts';
import { mulberry32, normalSampler, pickWeighted } from './helpers.ts';

export interface TrafficShape {
  /** Multiplies prompt length (2 = "doubling the prompt-length distribution"). */
  lengthScale: number;
  temperatureMix: ReadonlyArray<readonly [number | undefined, number]>;
}

export const BASE_SHAPE: TrafficShape = {
  lengthScale: 1,
  temperatureMix: [[0, 0.3], [0.7, 0.5], [1, 0.15], [undefined, 0.05]],
};

const SENTENCES = [
  'Summarise the following support ticket in two sentences.',
  'The customer reports that the export button does nothing on large projects.',
  'Write a polite reply that explains the workaround and the expected fix date.',
  'Translate the product description into plain English for a general audience.',
  'List the three most important risks in this contract clause and explain each.',
  'Our quarterly revenue grew by twelve percent while costs stayed flat.',
  'Refactor this function so that it handles empty input without throwing.',
  'Explain the difference between a mutex and a semaphore with an example.',
];
const CORPUS = Array.from({ length: 400 }, (_, i) => SENTENCES[(i * 7) % SENTENCES.length]).join(' ');

export interface SyntheticRequest {
  body: Record<string, unknown>;
  response: ResponseObservation;
}

export function trafficSource(seed: number, shape: TrafficShape = BASE_SHAPE): () => SyntheticRequest {
  const rand = mulberry32(seed);
  const normal = normalSampler(rand);
  const logNormal = (median: number, sigma: number) => median * Math.exp(sigma * normal());
  return () => {
    const chars = Math.max(8, Math.round(logNormal(200, 0.7) * shape.lengthScale));
    const offset = Math.floor(rand() * (CORPUS.length - chars - 1));
    const userText = CORPUS.slice(Math.max(0, offset), Math.max(0, offset) + chars);
    const messages: Array<{ role: string; content: string }> = [];
    if (rand() < 0.6) messages.push({ role: 'system', content: 'You are a helpful assistant.' });
    if (rand() < 0.25) messages.push({ role: 'user', content: 'Hello.' }, { role: 'assistant', content: 'Hi! How can I help?' });
    messages.push({ role: 'user', content: userText });
    const maxTokens = pickWeighted(rand, [[undefined, 0.3], [256, 0.2], [512, 0.25], [1024, 0.2], [4096, 0.05]] as const);
    const temperature = pickWeighted(rand, shape.temperatureMix);
    const body: Record<string, unknown> = { model: 'llama-3-8b', messages };
    if (maxTokens !== undefined) body.max_tokens = maxTokens;
    if (temperature !== undefined) body.temperature = temperature;
    if (rand() < 0.2) body.tools = [{ type: 'function', function: { name: 'lookup', parameters: {} } }];
    if (rand() < 0.1) body.response_format = { type: 'json_object' };
    if (rand() < 0.5) body.stream = true;

    const promptTokens = Math.round(((chars + 30 * messages.length) / 4) * (0.9 + 0.2 * rand()));
    const completion = Math.max(1, Math.round(logNormal(150, 0.6)));
    const limit = maxTokens ?? 4096;
    const completionTokens = Math.min(completion, limit);
    const r = rand();
    const status = r < 0.005 ? 429 : r < 0.01 ? 500 : 200;
    const ttftMs = 40 + promptTokens * 0.08 * Math.exp(0.2 * normal());
    const latencyMs = ttftMs + completionTokens * 22 * Math.exp(0.15 * normal());
    const response: ResponseObservation =
      status === 200
        ? {
            status,
            usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens },
            finishReason: completion > limit ? 'length' : body.tools && rand() < 0.3 ? 'tool_calls' : 'stop',
            ttftMs,
            latencyMs,
          }
        : { status, latencyMs: ttftMs };
    return { body, response };
  };
}
