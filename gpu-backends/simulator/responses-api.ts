// The Responses API (/v1/responses) as vLLM's OpenAI server answers it: the ResponsesResponse body, and the SSE
// stream of typed events (`event: <type>` + `data: <json>`, sequence numbers from 0, no `data: [DONE]`):
// response.created, response.in_progress, then per answer response.output_item.added,
// response.content_part.added, response.output_text.delta..., response.output_text.done,
// response.content_part.done, response.output_item.done, and response.completed (its `response.status` is
// `incomplete` when the answer hit max_output_tokens). Field order follows vLLM's pydantic models.
import type { ResponsesEcho } from './openai-request.ts';
import type { Usage } from './openai-response.ts';

export interface ResponsesMeta {
  id: string;
  itemId: string;
  created: number;
  model: string;
  /** The effective output cap (vLLM reports sampling_params.max_tokens). */
  maxOutputTokens: number;
}

type Status = 'in_progress' | 'completed' | 'incomplete';

/** vLLM's ResponseUsage from the chat-style counts. */
export function responsesUsage(u: Usage): object {
  return {
    input_tokens: u.prompt_tokens,
    input_tokens_details: { cached_tokens: u.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: u.completion_tokens,
    output_tokens_details: { reasoning_tokens: 0, tool_output_tokens: 0 },
    total_tokens: u.total_tokens,
  };
}

const outputText = (text: string) => ({ annotations: [], text, type: 'output_text', logprobs: null });

function message(meta: ResponsesMeta, text: string, status: 'in_progress' | 'completed'): object {
  return { id: meta.itemId, content: status === 'in_progress' ? [] : [outputText(text)], role: 'assistant', status, type: 'message' };
}

/** The ResponsesResponse object (the non-streaming body, and the `response` of created/in_progress/completed). */
export function responsesBody(meta: ResponsesMeta, echo: ResponsesEcho, status: Status, text: string, usage: Usage | null): object {
  return {
    id: meta.id,
    created_at: meta.created,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: echo.instructions ?? null,
    metadata: echo.metadata ?? null,
    model: meta.model,
    object: 'response',
    output: status === 'in_progress' ? [] : [message(meta, text, 'completed')],
    parallel_tool_calls: echo.parallel_tool_calls ?? true,
    temperature: echo.temperature ?? 1.0,
    tool_choice: echo.tool_choice ?? 'auto',
    tools: echo.tools ?? [],
    top_p: echo.top_p ?? 1.0,
    background: false,
    max_output_tokens: meta.maxOutputTokens,
    max_tool_calls: null,
    previous_response_id: null,
    prompt: null,
    reasoning: null,
    service_tier: 'auto',
    status,
    text: null,
    top_logprobs: null,
    truncation: 'disabled',
    usage: usage ? responsesUsage(usage) : null,
    user: echo.user ?? null,
    input_messages: null,
    output_messages: null,
  };
}

/** Writes one Responses stream's events with their sequence numbers. */
export class ResponsesEvents {
  private seq = 0;
  private opened = false;

  constructor(
    private readonly meta: ResponsesMeta,
    private readonly echo: ResponsesEcho,
  ) {}

  private event(type: string, fields: object): string {
    return `event: ${type}\ndata: ${JSON.stringify({ ...fields, sequence_number: this.seq++, type })}\n\n`;
  }

  /** Sent as soon as the request is accepted, before any token. */
  start(): string {
    const response = responsesBody(this.meta, this.echo, 'in_progress', '', null);
    return this.event('response.created', { response }) + this.event('response.in_progress', { response });
  }

  /** One piece of output text (the message item and its part are opened before the first piece). */
  delta(piece: string): string {
    let out = '';
    if (!this.opened) {
      this.opened = true;
      out += this.event('response.output_item.added', { item: message(this.meta, '', 'in_progress'), output_index: 0 });
      out += this.event('response.content_part.added', { content_index: 0, item_id: this.meta.itemId, output_index: 0, part: { annotations: [], text: '', type: 'output_text', logprobs: [] } });
    }
    return out + this.event('response.output_text.delta', { content_index: 0, delta: piece, item_id: this.meta.itemId, logprobs: [], output_index: 0 });
  }

  /** Closes the item and ends the stream with response.completed (status completed, or incomplete at the cap). */
  finish(text: string, finishReason: 'stop' | 'length', usage: Usage): string {
    const { itemId } = this.meta;
    let out = '';
    if (this.opened) {
      out += this.event('response.output_text.done', { content_index: 0, item_id: itemId, logprobs: [], output_index: 0, text });
      out += this.event('response.content_part.done', { content_index: 0, item_id: itemId, output_index: 0, part: outputText(text) });
      out += this.event('response.output_item.done', { item: message(this.meta, text, 'completed'), output_index: 0 });
    }
    const status = finishReason === 'length' ? 'incomplete' : 'completed';
    return out + this.event('response.completed', { response: responsesBody(this.meta, this.echo, status, text, usage) });
  }
}
