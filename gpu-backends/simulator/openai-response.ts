// Response bodies in the exact shapes vLLM's OpenAI server sends (fields, nulls, order), for chat and
// completions, whole and as SSE chunks, plus OpenAI-style errors.
import type { Endpoint } from './openai-request.ts';

export interface Usage {
  prompt_tokens: number;
  total_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?: { cached_tokens: number } | null;
}

export interface ResponseMeta {
  id: string;
  created: number;
  model: string;
}

export function usageOf(promptTokens: number, completionTokens: number, cachedTokens: number | undefined): Usage {
  const u: Usage = { prompt_tokens: promptTokens, total_tokens: promptTokens + completionTokens, completion_tokens: completionTokens };
  // vLLM adds prompt_tokens_details only with --enable-prompt-tokens-details (the simulator's default).
  u.prompt_tokens_details = cachedTokens === undefined ? null : { cached_tokens: cachedTokens };
  return u;
}

export function idPrefix(endpoint: Endpoint): string {
  return endpoint === 'chat' ? 'chatcmpl-' : endpoint === 'responses' ? 'resp_' : 'cmpl-';
}

/** The non-streaming body. */
export function completeBody(endpoint: Endpoint, meta: ResponseMeta, text: string, finishReason: string, usage: Usage): object {
  if (endpoint === 'chat') {
    return {
      id: meta.id,
      object: 'chat.completion',
      created: meta.created,
      model: meta.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text, refusal: null, annotations: null, audio: null, function_call: null, tool_calls: [], reasoning_content: null },
          logprobs: null,
          finish_reason: finishReason,
          stop_reason: null,
        },
      ],
      service_tier: null,
      system_fingerprint: null,
      usage,
      prompt_logprobs: null,
      kv_transfer_params: null,
    };
  }
  return {
    id: meta.id,
    object: 'text_completion',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason, stop_reason: null, prompt_logprobs: null }],
    service_tier: null,
    system_fingerprint: null,
    usage,
    kv_transfer_params: null,
  };
}

/** The first chat chunk vLLM sends: the assistant role with empty content. Completions have none. */
export function roleChunk(meta: ResponseMeta): object {
  return {
    id: meta.id,
    object: 'chat.completion.chunk',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
  };
}

/** A chunk carrying `text`; the last one also carries the finish reason. */
export function deltaChunk(endpoint: Endpoint, meta: ResponseMeta, text: string, finishReason: string | null, usage?: Usage): object {
  const chunk: Record<string, unknown> =
    endpoint === 'chat'
      ? {
          id: meta.id,
          object: 'chat.completion.chunk',
          created: meta.created,
          model: meta.model,
          choices: [
            finishReason === null
              ? { index: 0, delta: { content: text }, logprobs: null, finish_reason: null }
              : { index: 0, delta: { content: text }, logprobs: null, finish_reason: finishReason, stop_reason: null },
          ],
        }
      : {
          id: meta.id,
          object: 'text_completion',
          created: meta.created,
          model: meta.model,
          choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason, stop_reason: null }],
        };
  if (usage) chunk.usage = usage; // stream_options.continuous_usage_stats
  return chunk;
}

/** The final usage-only chunk sent when stream_options.include_usage is true (vLLM drops null fields here). */
export function usageChunk(endpoint: Endpoint, meta: ResponseMeta, usage: Usage): object {
  if (usage.prompt_tokens_details === null) {
    const { prompt_tokens_details: _, ...rest } = usage;
    usage = rest;
  }
  return {
    id: meta.id,
    object: endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion',
    created: meta.created,
    model: meta.model,
    choices: [],
    usage,
  };
}

export function sseData(payload: object | string): string {
  return `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;
}

/** OpenAI-style error body (vLLM's ErrorResponse). */
export function errorBody(message: string, type: string, code: number | string, param: string | null = null): object {
  return { error: { message, type, param, code } };
}
