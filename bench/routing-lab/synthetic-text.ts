// Deterministic synthetic text for trace hash ids: the same id always yields the same 512-token block, at the
// simulator's 4 characters per token (gpu-backends/simulator/tokenizer.ts). A block starts with its id in a
// tag, so different ids never yield equal text; the rest is a slice of a fixed pseudo-random word corpus
// (slices are cheap: no per-block string building beyond the tag).
import { fmix32 } from '../../src/util/hash.ts';
import { TRACE_BLOCK_TOKENS } from './trace.ts';

export const CHARS_PER_TOKEN = 4;
export const BLOCK_CHARS = TRACE_BLOCK_TOKENS * CHARS_PER_TOKEN;

const WORDS = (
  'the of and to in is that for it as with was on be by at this which from or an are not have has but were ' +
  'cache token prefix model request router backend latency block memory query answer context system user ' +
  'data value table index score result policy engine server client stream batch queue load share route'
).split(' ');

let corpus = '';
function getCorpus(): string {
  if (corpus) return corpus;
  const parts: string[] = [];
  let len = 0;
  for (let i = 0; len < 1 << 20; i++) {
    const w = WORDS[fmix32(i * 2654435761) % WORDS.length]!;
    parts.push(w);
    len += w.length + 1;
  }
  corpus = parts.join(' ');
  return corpus;
}

/** The full text (BLOCK_CHARS characters) of the block named `id`. */
export function blockText(id: number): string {
  const c = getCorpus();
  const tag = `[#${id.toString(36)}] `;
  const offset = fmix32(id ^ 0x5bd1e995) % (c.length - BLOCK_CHARS);
  return tag + c.slice(offset, offset + BLOCK_CHARS - tag.length);
}

/**
 * A trace request's prompt text: its blocks in order, the last one cut so that tokens = input_length.
 * `charsPerToken` sizes the text for a tokenizer other than the simulator's (at most CHARS_PER_TOKEN): each
 * block is then the first 512 x charsPerToken characters of its text, which still starts with its id.
 */
export function promptText(hashIds: readonly number[], inputTokens: number, maxChars = Infinity, charsPerToken = CHARS_PER_TOKEN): string {
  if (!(charsPerToken > 0 && charsPerToken <= CHARS_PER_TOKEN)) throw new Error(`charsPerToken must be in (0, ${CHARS_PER_TOKEN}], got ${charsPerToken}`);
  const blockChars = Math.max(1, Math.round(TRACE_BLOCK_TOKENS * charsPerToken));
  const total = Math.min(Math.round(inputTokens * charsPerToken), maxChars);
  let text = '';
  for (let i = 0; i < hashIds.length && text.length < total; i++) {
    const whole = blockText(hashIds[i]!);
    const b = blockChars < whole.length ? whole.slice(0, blockChars) : whole;
    text += text.length + b.length <= total ? b : b.slice(0, total - text.length);
  }
  return text;
}
