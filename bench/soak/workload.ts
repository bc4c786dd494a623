// The soak's request mix: streaming and non-streaming chat, some Responses API calls, streams the client leaves
// mid-way, a few long streams, and prompts that share system-prompt prefixes (so prefix affinity has something
// to keep together), spread over two tenants.
import type { RequestOpts } from '../../test/e2e/faults/harness.ts';

export interface SoakRequest extends RequestOpts {
  /** What the mix chose, for the counts: chat, chat_stream, responses, responses_stream, abort, long. */
  shape: string;
  tenant: number;
}

const WORDS = 'the of and to in is for on with as by at from an be this that it are or was which not you all can has more'.split(' ');

/** A deterministic pseudo-text of about `chars` characters, different per seed. */
function text(seed: number, chars: number): string {
  let x = Math.imul(seed, 2654435761) >>> 0;
  const out: string[] = [];
  for (let n = 0; n < chars; ) {
    x = (Math.imul(x ^ (x >>> 15), 2246822507) + 0x9e3779b9) >>> 0;
    const w = WORDS[x % WORDS.length]!;
    out.push(w);
    n += w.length + 1;
  }
  return out.join(' ');
}

/** Shared prefixes (a product's system prompt, a long document), some far more popular than others. */
const PREFIXES = Array.from({ length: 16 }, (_, i) => `System: you are assistant ${i}. ${text(i + 1, 600 + 150 * (i % 8))}\n`);

function pick<T>(xs: readonly T[], skew = 1.2): T {
  // Zipf-like: index ~ u^skew concentrates on the first entries.
  return xs[Math.min(xs.length - 1, Math.floor(xs.length * Math.random() ** (1 + skew)))]!;
}

const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));

/** The share of streams the client leaves mid-way, by default. */
export const ABORT_SHARE = 0.1;

/**
 * One request of the mix; `tenants` is how many tenants share the load (the first gets most). `abortShare`: the
 * share of streams the client leaves (the rest of the mix keeps its proportions).
 */
export function nextRequest(tenants: number, abortShare = ABORT_SHARE): SoakRequest {
  const prompt = `${pick(PREFIXES)}User ${rand(0, 1e6)}: ${text(rand(1, 1e9), rand(40, 400))}`;
  const tenant = Math.random() < 0.65 ? 0 : rand(1, tenants - 1);
  const abort = Math.random() < abortShare;
  const u = ABORT_SHARE + Math.random() * (1 - ABORT_SHARE); // the rest of the mix, as its thresholds below say
  if (abort) return { shape: 'abort', tenant, prompt, stream: true, api: Math.random() < 0.8 ? 'chat' : 'responses', maxTokens: 300, abortAfterEvents: rand(2, 30) };
  if (u < 0.13) return { shape: 'long', tenant, prompt, stream: true, maxTokens: rand(1000, 2000) };
  if (u < 0.21) return { shape: 'responses_stream', tenant, prompt, stream: true, api: 'responses', maxTokens: rand(16, 160) };
  if (u < 0.27) return { shape: 'responses', tenant, prompt, stream: false, api: 'responses', maxTokens: rand(16, 96) };
  if (u < 0.67) return { shape: 'chat_stream', tenant, prompt, stream: true, maxTokens: rand(16, 200) };
  return { shape: 'chat', tenant, prompt, stream: false, maxTokens: rand(8, 96) };
}
