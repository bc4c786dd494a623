// Deterministic answers: the output text is a pure function of (answer seed, prompt), like greedy decoding
// of a fixed model. Replicas of one model (same seed) give identical answers.
//
// Agreement between two configured "models" (shadow comparison): every prompt gets a share u in [0, 1)
// that does not depend on any model. A model with `agreement` a answers prompts with u < a from the shared
// `referenceSeed`, the others from its own `seed`. Two models with agreements a1 and a2 (same reference seed,
// different own seeds) therefore give the same answer on a share min(a1, a2) of prompts and different
// answers on the rest (up to hash collisions).
//
// Text is made of words, cut to exactly CHARS_PER_TOKEN characters per token, so the tokenization rule
// counts the output exactly and token i of a stream is text.slice(4i, 4i + 4).
import { combine32, fmix32, hashString, unitFloat } from '../../src/util/hash.ts';
import { CHARS_PER_TOKEN } from './tokenizer.ts';

export interface OutputModel {
  /** The model's own answer seed. */
  seed: number;
  /** Share of prompts answered from `referenceSeed` (0..1). Default 0. */
  agreement?: number;
  /** Seed shared by models that should agree. Default 0. */
  referenceSeed?: number;
  /** Mean natural answer length in tokens (the answer "stops" there unless max_tokens cuts it). Default 256. */
  meanTokens?: number;
  /** Longest natural answer in tokens. Default 2048. */
  maxTokens?: number;
}

export interface PlannedOutput {
  /** Seed the answer is generated from (the model's own or the reference seed). */
  answerSeed: number;
  /** Length at which the answer ends by itself (finish_reason 'stop' if max_tokens allows it). */
  naturalTokens: number;
  /** The first `tokens` tokens of the answer, exactly tokens x 4 characters. */
  text(tokens: number): string;
}

const MIN_NATURAL_TOKENS = 4;
const AGREEMENT_SALT = 0x5ac0ffee;
const LENGTH_SALT = 0x1e46;

const WORDS = (
  'the a of to and in is it that for on with as was at by this be from are or an have not which but all they ' +
  'cache token model prefix block request server queue batch latency router engine memory answer result value ' +
  'first next time step load data system user context prompt output input stream event state order rate share ' +
  'because when then also only more most each other some such than into over after before between under while'
).split(' ');

/** Share in [0, 1) of a prompt, the same for every model. */
export function promptShare(promptHash: number): number {
  return unitFloat(combine32(promptHash, AGREEMENT_SALT));
}

/** Which seed `model` answers `prompt` with. */
export function answerSeedFor(promptHash: number, model: OutputModel): number {
  const agreement = model.agreement ?? 0;
  return promptShare(promptHash) < agreement ? (model.referenceSeed ?? 0) : model.seed;
}

/** Natural answer length: exponential around `meanTokens`, within [4, maxTokens]. */
export function naturalOutputTokens(answerSeed: number, promptHash: number, model: OutputModel): number {
  const mean = model.meanTokens ?? 256;
  const max = model.maxTokens ?? 2048;
  const u = unitFloat(combine32(combine32(answerSeed, promptHash), LENGTH_SALT));
  const n = Math.round(MIN_NATURAL_TOKENS - Math.log(1 - u) * Math.max(mean - MIN_NATURAL_TOKENS, 0));
  return Math.max(1, Math.min(max, n));
}

/** The first `tokens` tokens of the answer for (answerSeed, promptHash). */
export function answerText(answerSeed: number, promptHash: number, tokens: number): string {
  const chars = tokens * CHARS_PER_TOKEN;
  const parts: string[] = [];
  let length = 0;
  let h = combine32(answerSeed, promptHash);
  for (let i = 0; length <= chars; i++) {
    h = fmix32(h + i);
    const word = WORDS[h % WORDS.length]!;
    // A sentence ends every 8..15 words, so the text reads as prose in logs.
    const piece = i === 0 ? word[0]!.toUpperCase() + word.slice(1) : (h >>> 8) % 12 === 0 ? `${word}.` : word;
    parts.push(piece);
    length += piece.length + 1;
  }
  return parts.join(' ').slice(0, chars);
}

/** Plans the answer of `model` to `prompt`. */
export function planOutput(prompt: string, model: OutputModel): PlannedOutput {
  const promptHash = hashString(prompt);
  const answerSeed = answerSeedFor(promptHash, model);
  const naturalTokens = naturalOutputTokens(answerSeed, promptHash, model);
  return { answerSeed, naturalTokens, text: (tokens) => answerText(answerSeed, promptHash, tokens) };
}
