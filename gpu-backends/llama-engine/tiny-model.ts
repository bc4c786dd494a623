// The engine's default model: a tiny `llama` GGUF with random weights (a fixed seed, so the file is the same on
// every machine) and a byte-level sentencepiece vocabulary, generated on demand into a cache directory because
// no model can be downloaded here. It computes like a real llama (attention, KV cache, RoPE), which is all the
// engine needs to show real prefill cost and real prefix reuse; its output text is noise.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { combine32, fmix32, unitFloat } from '../../src/util/hash.ts';
import { gguf, GgufType, writeGguf, type GgufFile, type GgufTensor } from './gguf-writer.ts';

export interface TinyModelShape {
  layers: number;
  width: number;
  heads: number;
  feedForward: number;
  contextLength: number;
  seed: number;
}

/** 4 layers, 256 wide, 4 heads, F32: ~11 MB, known to load in node-llama-cpp 3.21.1. */
export const TINY_MODEL: TinyModelShape = { layers: 4, width: 256, heads: 4, feedForward: 512, contextLength: 32_768, seed: 1 };

export const TINY_MODEL_NAME = 'kvroute-tiny-llama';

// Token types of llama.cpp's vocabulary (llama_token_type).
const TOKEN_NORMAL = 1;
const TOKEN_UNKNOWN = 2;
const TOKEN_CONTROL = 3;
const TOKEN_BYTE = 6;

/**
 * `<unk>`, `<s>`, `</s>`, the 256 byte tokens `<0x00>`..`<0xFF>` (any text tokenizes, byte by byte), and the
 * sentencepiece space `▁` as a normal piece: without it a space costs 3 byte tokens and does not detokenize back.
 */
export function byteVocabulary(): { tokens: string[]; types: number[] } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TOKEN_BYTE);
  }
  tokens.push(SPACE_PIECE);
  types.push(TOKEN_NORMAL);
  return { tokens, types };
}

const SPACE_PIECE = '\u2581';
const FIRST_BYTE_TOKEN = 3;

/** Whether a token of the byte vocabulary stands for printable ASCII or a newline (the engine samples only those). */
export function isPrintableByteToken(id: number): boolean {
  if (id === FIRST_BYTE_TOKEN + 256) return true; // the space piece
  const byte = id - FIRST_BYTE_TOKEN;
  return byte === 0x0a || (byte >= 0x20 && byte <= 0x7e);
}

/** Seeded uniform values in [-scale, scale): a counter hashed with the tensor's seed, so each tensor is independent. */
function randomTensor(seed: number, n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (unitFloat(combine32(seed, i)) * 2 - 1) * scale;
  return out;
}

export function tinyModelFile(shape: TinyModelShape = TINY_MODEL): GgufFile {
  const { tokens, types } = byteVocabulary();
  const vocab = tokens.length;
  const { width, feedForward: ff, heads, layers } = shape;
  let tensorSeed = fmix32(shape.seed);
  const next = () => (tensorSeed = fmix32(tensorSeed + 1));
  // ggml dims: [row length, rows]. Scales ~ 1/sqrt(fan-in) keep activations bounded through the layers.
  const matrix = (name: string, cols: number, rows: number): GgufTensor => ({ name, dims: [cols, rows], data: randomTensor(next(), cols * rows, 1 / Math.sqrt(cols)) });
  const ones = (name: string): GgufTensor => ({ name, dims: [width], data: new Float32Array(width).fill(1) });
  const tensors: GgufTensor[] = [matrix('token_embd.weight', width, vocab), ones('output_norm.weight'), matrix('output.weight', width, vocab)];
  for (let l = 0; l < layers; l++) {
    tensors.push(
      ones(`blk.${l}.attn_norm.weight`),
      matrix(`blk.${l}.attn_q.weight`, width, width),
      matrix(`blk.${l}.attn_k.weight`, width, width),
      matrix(`blk.${l}.attn_v.weight`, width, width),
      matrix(`blk.${l}.attn_output.weight`, width, width),
      ones(`blk.${l}.ffn_norm.weight`),
      matrix(`blk.${l}.ffn_gate.weight`, width, ff),
      matrix(`blk.${l}.ffn_up.weight`, width, ff),
      matrix(`blk.${l}.ffn_down.weight`, ff, width),
    );
  }
  return {
    metadata: [
      ['general.architecture', gguf.str('llama')],
      ['general.name', gguf.str(TINY_MODEL_NAME)],
      ['general.file_type', gguf.u32(0)], // all F32
      ['llama.context_length', gguf.u32(shape.contextLength)],
      ['llama.embedding_length', gguf.u32(width)],
      ['llama.block_count', gguf.u32(layers)],
      ['llama.feed_forward_length', gguf.u32(ff)],
      ['llama.attention.head_count', gguf.u32(heads)],
      ['llama.attention.head_count_kv', gguf.u32(heads)],
      ['llama.rope.dimension_count', gguf.u32(width / heads)],
      ['llama.attention.layer_norm_rms_epsilon', gguf.f32(1e-5)],
      ['llama.vocab_size', gguf.u32(vocab)],
      ['tokenizer.ggml.model', gguf.str('llama')],
      ['tokenizer.ggml.tokens', gguf.array(GgufType.STRING, tokens)],
      ['tokenizer.ggml.scores', gguf.array(GgufType.FLOAT32, tokens.map(() => 0))],
      ['tokenizer.ggml.token_type', gguf.array(GgufType.INT32, types)],
      ['tokenizer.ggml.unknown_token_id', gguf.u32(0)],
      ['tokenizer.ggml.bos_token_id', gguf.u32(1)],
      ['tokenizer.ggml.eos_token_id', gguf.u32(2)],
      ['tokenizer.ggml.add_bos_token', gguf.bool(true)],
      ['tokenizer.ggml.add_eos_token', gguf.bool(false)],
    ],
    tensors,
  };
}

export function tinyModelFileName(shape: TinyModelShape = TINY_MODEL): string {
  return `kvroute-tiny-llama-L${shape.layers}-E${shape.width}-H${shape.heads}-F${shape.feedForward}-s${shape.seed}.gguf`;
}

/**
 * The generated model's path in `cacheDir`, writing it first if it is not there. Written to a temporary name and
 * renamed, so engines started side by side never load a half-written file.
 */
export function ensureTinyModel(cacheDir: string, shape: TinyModelShape = TINY_MODEL): string {
  const path = join(cacheDir, tinyModelFileName(shape));
  if (existsSync(path)) return path;
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeGguf(tmp, tinyModelFile(shape));
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
  return path;
}
