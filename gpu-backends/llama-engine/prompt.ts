// A request's prompt as tokens. Chat messages go through the model's own chat template when the GGUF has one
// (node-llama-cpp's resolver, Jinja included), else ChatML, which is what llama-server falls back to; a
// completions prompt is tokenized as is with the model's BOS, or taken as token ids.
import { ChatMLChatWrapper, resolveChatWrapper, type ChatHistoryItem, type ChatWrapper, type LlamaModel, type Token } from 'node-llama-cpp';
import { EngineError, type ChatMessage, type PromptInput } from './request.ts';

export function chatWrapperFor(model: LlamaModel): ChatWrapper {
  const hasTemplate = typeof model.fileInfo.metadata.tokenizer?.chat_template === 'string';
  return (hasTemplate ? resolveChatWrapper(model, { warningLogs: false }) : null) ?? new ChatMLChatWrapper();
}

/** Text of a message's content: string, or text parts (other parts become a placeholder, as the simulator does). */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((p: { type?: unknown; text?: unknown }) => (p?.type === 'text' && typeof p.text === 'string' ? p.text : `<|${String(p?.type)}|>`))
    .join('');
}

/** OpenAI messages as node-llama-cpp chat history, ending with an open model turn (the generation prompt). */
export function chatHistory(messages: readonly ChatMessage[], tools?: readonly unknown[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  if (tools && tools.length > 0) history.push({ type: 'system', text: `Tools: ${JSON.stringify(tools)}` });
  for (const m of messages) {
    let text = contentText(m.content);
    if (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) text += JSON.stringify(m.tool_calls);
    if (m.role === 'system' || m.role === 'developer') history.push({ type: 'system', text });
    else if (m.role === 'assistant') history.push({ type: 'model', response: [text] });
    else if (m.role === 'tool') history.push({ type: 'user', text: `Tool result: ${text}` });
    else history.push({ type: 'user', text });
  }
  history.push({ type: 'model', response: [] });
  return history;
}

export function promptTokens(model: LlamaModel, chatWrapper: ChatWrapper, input: PromptInput, vocab: number): Token[] {
  if (input.kind === 'tokens') {
    const bad = input.tokens.find((t) => !Number.isInteger(t) || t < 0 || t >= vocab);
    if (bad !== undefined) throw new EngineError(`prompt: token id ${bad} is not in the vocabulary (0..${vocab - 1}).`, 400, 'invalid_request_error', 'prompt', 'invalid_value');
    return input.tokens as Token[];
  }
  if (input.kind === 'text') {
    const tokens = model.tokenize(input.text);
    const bos = model.tokens.bos;
    return model.tokens.shouldPrependBosToken && bos !== null ? [bos, ...tokens] : tokens;
  }
  const { contextText } = chatWrapper.generateContextState({ chatHistory: chatHistory(input.messages, input.tools) });
  return contextText.tokenize(model.tokenizer);
}
