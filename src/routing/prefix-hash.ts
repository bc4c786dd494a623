// Prefix hashing: the request's canonical text cut into fixed-size blocks of UTF-8 bytes (one per ASCII character),
// each block's hash chained onto the previous one (vLLM's parent-hash chaining, done on text because the edge has
// no tokenizer).
// Two requests share their first k hashes exactly when their canonical texts share the first k blocks, so the
// hashes are a routing key at every depth at once: a shared system prompt, a reused document, a conversation.
//
// Canonical text: chat messages are rendered in order with role boundaries and nothing after the last message,
// so a conversation's next turn (previous messages + assistant answer + new user message) extends the text of
// its previous turn. A completions prompt is taken as is. The chain is seeded by model (and cache_salt), so
// different models never share keys. Only the first maxBlocks full blocks are hashed; a trailing partial block
// is ignored (as vLLM caches only full blocks), so the cost is bounded by maxBlocks * blockChars bytes.
import { hashString, hashUtf8Blocks } from '../util/hash.ts';

export interface PrefixHashOptions {
  /** Characters per block (a vLLM block of 16 tokens is ~64 characters). */
  blockChars: number;
  /** At most this many leading blocks are hashed. */
  maxBlocks: number;
}

export interface PrefixHashResult {
  /** Chained hashes of the leading full blocks (at most maxBlocks). */
  hashes: Uint32Array;
  /** Length of the whole canonical text in UTF-16 code units (not capped). */
  promptChars: number;
}

/** Message boundary marker. Plain text so that it is cheap and identical in every runtime. */
const ROLE_OPEN = '<|';
const ROLE_CLOSE = '|>\n';
const MESSAGE_END = '\n';

/** Seed of a model's hash chain. `salt` separates tenants that must not share cache (vLLM's cache_salt). */
export function chainSeed(model: string, salt = ''): number {
  return hashString(salt, hashString(model, 0x6b76726f));
}

/**
 * The pieces of a request's canonical text, in order. Their concatenation is the canonical text; returning
 * pieces lets callers take a prefix without building a 50k-character string.
 */
export function canonicalParts(body: unknown): string[] {
  if (!body || typeof body !== 'object') return [];
  const b = body as Record<string, unknown>;
  const parts: string[] = [];
  if (Array.isArray(b.messages)) {
    // Tools come first: chat templates render them into the system turn, ahead of every message.
    if (Array.isArray(b.tools) && b.tools.length > 0) parts.push(ROLE_OPEN, 'tools', ROLE_CLOSE, stableJson(b.tools), MESSAGE_END);
    for (const m of b.messages) {
      if (!m || typeof m !== 'object') continue;
      const msg = m as Record<string, unknown>;
      parts.push(ROLE_OPEN, typeof msg.role === 'string' ? msg.role : 'user');
      if (typeof msg.name === 'string') parts.push(':', msg.name);
      parts.push(ROLE_CLOSE);
      pushContent(parts, msg.content);
      if (Array.isArray(msg.tool_calls)) parts.push(stableJson(msg.tool_calls));
      parts.push(MESSAGE_END);
    }
    return parts;
  }
  const p = b.prompt;
  if (typeof p === 'string') parts.push(p);
  else if (Array.isArray(p) && p.length > 0) {
    // A batch of prompts is routed by its first; a token-id prompt is rendered as its numbers.
    const first = p[0];
    if (typeof first === 'string') parts.push(first);
    else if (typeof first === 'number') parts.push(p.join(' '));
    else if (Array.isArray(first)) parts.push(first.join(' '));
  }
  return parts;
}

function pushContent(parts: string[], content: unknown): void {
  if (typeof content === 'string') {
    parts.push(content);
    return;
  }
  if (!Array.isArray(content)) return;
  for (const c of content) {
    if (!c || typeof c !== 'object') continue;
    const part = c as Record<string, unknown>;
    if (part.type === 'text' && typeof part.text === 'string') parts.push(part.text);
    // Non-text parts (images, audio, files) keep their identity (e.g. the URL) so equal media share a key.
    else parts.push(ROLE_OPEN, String(part.type ?? 'part'), ROLE_CLOSE, stableJson(part), MESSAGE_END);
  }
}

/** JSON with sorted keys: clients order keys differently, the canonical text must not. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** The canonical text of a request, cut at `maxChars` (default: whole). */
export function canonicalPrefix(body: unknown, maxChars = Infinity): string {
  return joinPrefix(canonicalParts(body), maxChars).text;
}

function joinPrefix(parts: string[], maxChars: number): { text: string; totalChars: number } {
  let totalChars = 0;
  let text = '';
  for (const p of parts) {
    if (text.length < maxChars) text += text.length + p.length <= maxChars ? p : p.slice(0, maxChars - text.length);
    totalChars += p.length;
  }
  return { text, totalChars };
}

/** Chained block hashes of `text` (already canonical): blocks of `blockChars` UTF-8 bytes (= characters for ASCII). */
export function prefixHashesOfText(text: string, seed: number, opts: PrefixHashOptions): Uint32Array {
  return hashUtf8Blocks(text, seed, opts.blockChars, opts.maxBlocks);
}

/**
 * The router's entry point: canonical text of an OpenAI chat or completions body, hashed in blocks.
 * `model` and `salt` seed the chain (pass the model name the backend sees).
 */
export function prefixHashes(body: unknown, opts: PrefixHashOptions & { model: string; salt?: string }): PrefixHashResult {
  const parts = canonicalParts(body);
  let promptChars = 0;
  for (const p of parts) promptChars += p.length;
  return { hashes: hashUtf8Blocks(parts, chainSeed(opts.model, opts.salt), opts.blockChars, opts.maxBlocks), promptChars };
}
