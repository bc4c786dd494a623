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
  const ids = typeof first === 'number' ? (p as number[]) : (first as number[]);
  return ids.map((id) => (id >>> 0).toString(36).padStart(4, '0').slice(-4)).join('');
}

/** The prompt text for a request to `endpoint`, exactly as the simulator server renders it. */
export function promptTextForRequest(endpoint: 'chat' | 'completions', body: ChatBody | CompletionBody): string {
  return endpoint === 'chat' ? renderChatPrompt(body as ChatBody) : renderCompletionPrompt(body as CompletionBody);
}
