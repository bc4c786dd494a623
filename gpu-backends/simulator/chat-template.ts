// Turns an OpenAI request body into the prompt text the simulated engine sees, as vLLM does with the model's
// chat template. The template is Llama 3's (header tokens, <|eot_id|>), rendered as plain text so the 4-chars-
// per-token rule counts it. The routing lab imports this to reproduce the server's prompts exactly.

export interface ChatContentPart {
  type: string;
  text?: string;
}

export interface ChatMessage {
  role: string;
  content?: string | ChatContentPart[] | null;
  name?: string;
  tool_calls?: unknown[];
  tool_call_id?: string;
}

export interface ChatBody {
  messages: ChatMessage[];
  tools?: unknown[];
}

export interface CompletionBody {
  prompt: string | string[] | number[] | number[][];
}

const BOS = '<|begin_of_text|>';
const EOT = '<|eot_id|>';
const header = (role: string) => `<|start_header_id|>${role}<|end_header_id|>\n\n`;

/** Text of a message's content; non-text parts (images, audio) become a fixed placeholder. */
export function contentText(content: ChatMessage['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((p) => (p.type === 'text' ? (p.text ?? '') : `<|${p.type}|>`)).join('');
}

/** Llama-3-style chat prompt, ending with the assistant header (add_generation_prompt=True). */
export function renderChatPrompt(body: ChatBody): string {
  let out = BOS;
  if (body.tools && body.tools.length > 0) {
    out += `${header('system')}Environment: ipython\nTools: ${JSON.stringify(body.tools)}${EOT}`;
  }
  for (const m of body.messages) {
    const role = m.role === 'tool' ? 'ipython' : m.role;
    let text = contentText(m.content);
    if (m.tool_calls && m.tool_calls.length > 0) text += JSON.stringify(m.tool_calls);
    out += `${header(role)}${text}${EOT}`;
  }
  return out + header('assistant');
}

/** A Responses API input item (a message, or a tool call / tool output / reasoning item). */
export interface ResponsesItem {
  type?: string;
  role?: string;
  content?: string | ChatContentPart[] | null;
  [key: string]: unknown;
}

export interface ResponsesBody {
  instructions?: string | null;
  input: string | ResponsesItem[];
  tools?: unknown[] | null;
}

/** Text of Responses content parts: `input_text` and `output_text` are text, like chat's `text` parts. */
function responsesContent(content: ResponsesItem['content']): ChatMessage['content'] {
  if (!Array.isArray(content)) return content;
  return content.map((p) => (p.type === 'input_text' || p.type === 'output_text' ? { type: 'text', text: p.text } : p));
}

/**
 * The Responses API request as the chat it is rendered from (vLLM turns `instructions` into a system message and
 * the input into messages): tool calls and outputs become JSON turns of the assistant and the tool.
 */
export function responsesMessages(body: ResponsesBody): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (body.instructions) messages.push({ role: 'system', content: body.instructions });
  if (typeof body.input === 'string') return [...messages, { role: 'user', content: body.input }];
  for (const item of body.input) {
    if (typeof item.role === 'string' && (item.type === undefined || item.type === 'message')) messages.push({ role: item.role, content: responsesContent(item.content) });
    else if (item.type === 'function_call_output') messages.push({ role: 'tool', content: typeof item.output === 'string' ? item.output : JSON.stringify(item.output) });
    else messages.push({ role: 'assistant', content: JSON.stringify(item) });
  }
  return messages;
}

/** Llama-3-style prompt of a Responses API request. */
export function renderResponsesPrompt(body: ResponsesBody): string {
  return renderChatPrompt({ messages: responsesMessages(body), tools: body.tools ?? undefined });
}

/**
 * Prompt text of a completions request. Token-id prompts become 4 characters per id, so that the token count
 * equals the number of ids. Callers validate that there is exactly one prompt.
 */
export function renderCompletionPrompt(body: CompletionBody): string {
  const p = body.prompt;
  if (typeof p === 'string') return p;
  if (p.length === 0) return '';
  const first = p[0]!;
  if (typeof first === 'string') return first;
  const ids = typeof first === 'number' ? (p as number[]) : first;
  return ids.map((id) => (id >>> 0).toString(36).padStart(4, '0').slice(-4)).join('');
}

/** The prompt text for a request to `endpoint`, exactly as the simulator server renders it. */
export function promptTextForRequest(endpoint: 'chat' | 'completions' | 'responses', body: ChatBody | CompletionBody | ResponsesBody): string {
  if (endpoint === 'responses') return renderResponsesPrompt(body as ResponsesBody);
  return endpoint === 'chat' ? renderChatPrompt(body as ChatBody) : renderCompletionPrompt(body as CompletionBody);
}
