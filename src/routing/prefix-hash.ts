// Prefix hashing: the request's canonical text cut into fixed-size blocks of UTF-8 bytes (one per ASCII character),
// each block's hash chained onto the previous one (vLLM's parent-hash chaining, done on text because the edge has
// no tokenizer).
// Two requests share their first k hashes exactly when their canonical texts share the first k blocks, so the
// hashes are a routing key at every depth at once: a shared system prompt, a reused document, a conversation.
//
// Canonical text: chat messages are rendered in order with role boundaries and nothing after the last message,
// so a conversation's next turn (previous messages + assistant answer + new user message) extends the text of
// its previous turn. A Responses API body is rendered the same way (`instructions` as the system message, then the
// `input` string or items), so the same conversation through either API shares keys, as it shares the engine's
// cache. A completions prompt, or an embeddings input, is taken as is. The chain is seeded by model (and cache_salt), so
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
  if (b.prompt === undefined && (b.input !== undefined || typeof b.instructions === 'string')) {
    inputParts(parts, b);
    return parts;
  }
  const first = firstPrompt(b.prompt);
  if (first) parts.push(first);
  return parts;
}

/** A completions prompt (or an embeddings input) as text: a batch is routed by its first; token ids as numbers. */
function firstPrompt(p: unknown): string {
  if (typeof p === 'string') return p;
  if (!Array.isArray(p) || p.length === 0) return '';
  const first: unknown = p[0];
  if (typeof first === 'string') return first;
  if (typeof first === 'number') return p.join(' ');
  return Array.isArray(first) ? first.join(' ') : '';
}

const isItemList = (v: unknown): v is unknown[] => Array.isArray(v) && v.length > 0 && typeof v[0] === 'object' && v[0] !== null && !Array.isArray(v[0]);

/**
 * `input` bodies, rendered like chat: Responses API tools, `instructions` as a system message, then the input
 * items as messages, or the input text (a Responses string, an embeddings input) as one user message.
 */
function inputParts(parts: string[], b: Record<string, unknown>): void {
  if (Array.isArray(b.tools) && b.tools.length > 0) parts.push(ROLE_OPEN, 'tools', ROLE_CLOSE, stableJson(b.tools), MESSAGE_END);
  if (typeof b.instructions === 'string') parts.push(ROLE_OPEN, 'system', ROLE_CLOSE, b.instructions, MESSAGE_END);
  if (!isItemList(b.input)) {
    const text = firstPrompt(b.input);
    if (text) parts.push(ROLE_OPEN, 'user', ROLE_CLOSE, text, MESSAGE_END);
    return;
  }
  for (const item of b.input) {
    if (!item || typeof item !== 'object') continue;
    const it = item as Record<string, unknown>;
    if (typeof it.role === 'string' && (it.type === undefined || it.type === 'message')) {
      parts.push(ROLE_OPEN, it.role, ROLE_CLOSE);
      pushContent(parts, it.content);
      parts.push(MESSAGE_END);
    } else {
      // Tool calls, tool outputs, reasoning items: their identity, like a non-text content part.
      // Keys must stay byte-identical across versions: whatever `type` holds is stringified as before.
      // eslint-disable-next-line @typescript-eslint/no-base-to-string
      parts.push(ROLE_OPEN, String(it.type ?? 'item'), ROLE_CLOSE, stableJson(it), MESSAGE_END);
    }
  }
}

/** Response API text parts (`input_text`, and `output_text` in replayed assistant turns) are text like chat's. */
const TEXT_PARTS = new Set(['text', 'input_text', 'output_text']);

function pushContent(parts: string[], content: unknown): void {
  if (typeof content === 'string') {
    parts.push(content);
    return;
  }
  if (!Array.isArray(content)) return;
  for (const c of content) {
    if (!c || typeof c !== 'object') continue;
    const part = c as Record<string, unknown>;
    if (TEXT_PARTS.has(part.type as string) && typeof part.text === 'string') parts.push(part.text);
    // Non-text parts (images, audio, files) keep their identity (e.g. the URL) so equal media share a key.
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- keys stay byte-identical (see above)
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

/** Length of a request's canonical text (UTF-16 code units), without building it. */
export function canonicalLength(body: unknown): number {
  let n = 0;
  for (const p of canonicalParts(body)) n += p.length;
  return n;
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
 * The router's entry point: canonical text of an OpenAI chat, completions, Responses or embeddings body, hashed
 * in blocks.
 * `model` and `salt` seed the chain (pass the model name the backend sees).
 */
export function prefixHashes(body: unknown, opts: PrefixHashOptions & { model: string; salt?: string }): PrefixHashResult {
  const parts = canonicalParts(body);
  let promptChars = 0;
  for (const p of parts) promptChars += p.length;
  return { hashes: hashUtf8Blocks(parts, chainSeed(opts.model, opts.salt), opts.blockChars, opts.maxBlocks), promptChars };
}
