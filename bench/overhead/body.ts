// The request every overhead target gets: a shared system prompt of `promptChars` characters (so prefix hashing
// and affinity have whole blocks to work on, as with real chat traffic) and a short user turn.
import { MODEL } from './targets.ts';

export function benchBody(promptChars = 1024, stream = false): string {
  const system = 'You are a concise assistant for the kvroute overhead benchmark. '.repeat(Math.ceil(promptChars / 64)).slice(0, promptChars);
  const messages = [...(promptChars > 0 ? [{ role: 'system', content: system }] : []), { role: 'user', content: 'Say something short.' }];
  return JSON.stringify({ model: MODEL, messages, max_tokens: 16, ...(stream ? { stream: true } : {}) });
}
