// Turns trace records into what the lab needs per request, computed once per trace and reused by every run:
// the router's prefix hashes (the real prefixHashes on the request's real canonical text, cut where hashing
// stops) and the engine's KV block hashes (exactly promptBlockHashes of the full synthetic prompt; see below).
import { promptBlockHashes, rootBlockHash } from '../../gpu-backends/simulator/tokenizer.ts';
import { combine32, hashString } from '../../src/util/hash.ts';
import { prefixHashes, type PrefixHashOptions } from '../../src/routing/prefix-hash.ts';
import { BLOCK_CHARS, blockText, CHARS_PER_TOKEN, promptText } from './synthetic-text.ts';
import { TRACE_BLOCK_TOKENS, type TraceRecord } from './trace.ts';

export const ENGINE_BLOCK_TOKENS = 16;
const ENGINE_BLOCK_CHARS = ENGINE_BLOCK_TOKENS * CHARS_PER_TOKEN;
const ENGINE_BLOCKS_PER_TRACE_BLOCK = TRACE_BLOCK_TOKENS / ENGINE_BLOCK_TOKENS;

export interface LabRequest {
  /** Position in the trace. */
  index: number;
  arrivalMs: number;
  promptTokens: number;
  outputTokens: number;
  /** Router prefix hashes (what the router computes for this request's body). */
  routerHashes: Uint32Array;
  promptChars: number;
  /** Engine block hashes as shared chunks (one per trace block); concatenate with engineHashes(). */
  engineChunks: readonly (readonly number[])[];
}

export interface PreparedTrace {
  requests: LabRequest[];
  model: string;
  hashOptions: PrefixHashOptions;
}

/**
 * The request body the lab sends (and the e2e path posts): a completions prompt, canonical text as is.
 * `charsPerToken` sizes the prompt for a real engine's tokenizer (promptText).
 */
export function labBody(r: Pick<TraceRecord, 'hash_ids' | 'input_length' | 'output_length'>, model: string, maxChars = Infinity, charsPerToken = CHARS_PER_TOKEN) {
  return { model, prompt: promptText(r.hash_ids, r.input_length, maxChars, charsPerToken), max_tokens: Math.max(1, r.output_length) };
}

/**
 * Engine block hashes chain only through the parent hash, and each 512-token trace block holds exactly 32
 * engine blocks of 64 characters, so the 32 hashes of a trace block depend only on (parent hash, block id).
 * They are memoised per id, which turns 290k block references into 180k block hashings.
 */
class EngineHashMemo {
  private readonly memo = new Map<number, { parent: number; hashes: number[] }>();
  constructor(private readonly seed: number) {}

  chunk(id: number, parent: number): number[] {
    const m = this.memo.get(id);
    if (m && m.parent === parent) return m.hashes;
    const text = blockText(id);
    const hashes = new Array<number>(ENGINE_BLOCKS_PER_TRACE_BLOCK);
    let h = parent;
    for (let j = 0; j < ENGINE_BLOCKS_PER_TRACE_BLOCK; j++) {
      h = combine32(h, hashString(text, this.seed, j * ENGINE_BLOCK_CHARS, (j + 1) * ENGINE_BLOCK_CHARS));
      hashes[j] = h;
    }
    if (!m) this.memo.set(id, { parent, hashes });
    return hashes;
  }
}

export function prepareTrace(
  records: readonly TraceRecord[],
  opts: { model?: string; hash: PrefixHashOptions; engineSeed?: number },
): PreparedTrace {
  const model = opts.model ?? 'lab-model';
  const memo = new EngineHashMemo(opts.engineSeed ?? 0);
  const root = rootBlockHash(opts.engineSeed ?? 0);
  const cut = opts.hash.maxBlocks * opts.hash.blockChars;
  const t0 = records.length ? records[0]!.timestamp : 0;
  const requests = records.map((r, index): LabRequest => {
    const chunks: number[][] = [];
    let parent = root;
    const fullEngineBlocks = Math.floor(r.input_length / ENGINE_BLOCK_TOKENS);
    for (let i = 0; i < r.hash_ids.length; i++) {
      const c = memo.chunk(r.hash_ids[i]!, parent);
      const keep = Math.min(ENGINE_BLOCKS_PER_TRACE_BLOCK, fullEngineBlocks - i * ENGINE_BLOCKS_PER_TRACE_BLOCK);
      if (keep <= 0) break;
      chunks.push(keep === c.length ? c : c.slice(0, keep));
      parent = c[c.length - 1]!;
    }
    const ph = prefixHashes(labBody(r, model, cut), { ...opts.hash, model });
    return {
      index,
      arrivalMs: r.timestamp - t0,
      promptTokens: r.input_length,
      outputTokens: Math.max(1, r.output_length),
      routerHashes: ph.hashes,
      promptChars: r.input_length * CHARS_PER_TOKEN,
      engineChunks: chunks,
    };
  });
  return { requests, model, hashOptions: opts.hash };
}

/** The request's engine block hashes as one array (what Engine.submit takes). */
export function engineHashes(r: LabRequest): number[] {
  return r.engineChunks.length === 1 ? (r.engineChunks[0] as number[]).slice() : ([] as number[]).concat(...r.engineChunks);
}

/** Reference computation (tests): promptBlockHashes of the whole synthetic prompt. */
export function engineHashesFromText(r: TraceRecord, seed = 0): number[] {
  return promptBlockHashes(promptText(r.hash_ids, r.input_length), seed, ENGINE_BLOCK_TOKENS).blockHashes;
}

export { BLOCK_CHARS };
