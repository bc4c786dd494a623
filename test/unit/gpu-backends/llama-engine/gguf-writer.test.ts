// The GGUF writer, read back by an independent parser (node-llama-cpp's readGgufFileInfo): header, metadata of
// every type, the tensor table with aligned offsets, and tensor bytes at the offsets the table gives. The generated
// model is reproducible byte for byte and carries the byte-level vocabulary.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgmlType, readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, describe, expect, it } from 'vitest';
import { gguf, GgufType, writeGguf } from '../../../../gpu-backends/llama-engine/gguf-writer.ts';
import { byteVocabulary, ensureTinyModel, TINY_MODEL, tinyModelFile } from '../../../../gpu-backends/llama-engine/tiny-model.ts';

const dir = mkdtempSync(join(tmpdir(), 'kvroute-gguf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const read = (path: string) => readGgufFileInfo(path, { logWarnings: false, spliceSplitFiles: false });

describe('writeGguf', () => {
  it('round-trips header, metadata of each type and the tensor table', async () => {
    const path = join(dir, 'kinds.gguf');
    const a = Float32Array.from([1.5, -2, 3.25]);
    const b = Float32Array.from({ length: 2 * 5 }, (_, i) => i / 8);
    writeGguf(path, {
      metadata: [
        ['general.architecture', gguf.str('llama')],
        ['t.u32', gguf.u32(4_000_000_000)],
        ['t.i32', gguf.i32(-7)],
        ['t.f32', gguf.f32(0.5)],
        ['t.bool', gguf.bool(true)],
        ['t.u8', { type: GgufType.UINT8, value: 250 }],
        ['t.i64', { type: GgufType.INT64, value: -5n }],
        ['t.f64', { type: GgufType.FLOAT64, value: 1e-9 }],
        ['t.strings', gguf.array(GgufType.STRING, ['a', 'é', ''])],
        ['t.ints', gguf.array(GgufType.INT32, [1, -2, 3])],
      ],
      tensors: [
        { name: 'a', dims: [3], data: a },
        { name: 'b', dims: [5, 2], data: b },
      ],
    });
    const info = await read(path);
    expect(info.version).toBe(3);
    expect(Number(info.tensorCount)).toBe(2);
    const m = info.metadata as unknown as Record<string, Record<string, unknown>>;
    expect(m.general!.architecture).toBe('llama');
    expect(m.t).toMatchObject({ u32: 4_000_000_000, i32: -7, f32: 0.5, bool: true, u8: 250, strings: ['a', 'é', ''], ints: [1, -2, 3] });
    expect(BigInt(m.t!.i64 as bigint)).toBe(-5n);
    expect(m.t!.f64).toBeCloseTo(1e-9, 15);

    const tensors = info.tensorInfo!;
    expect(tensors.map((t) => [t.name, t.dimensions.map(Number), t.ggmlType])).toEqual([
      ['a', [3], GgmlType.F32],
      ['b', [5, 2], GgmlType.F32],
    ]);
    // Each tensor starts on the 32-byte alignment, in order, and its bytes are where the table says.
    expect(tensors.map((t) => Number(t.offset))).toEqual([0, 32]);
    const bytes = readFileSync(path);
    const at = (t: (typeof tensors)[number], n: number) => new Float32Array(bytes.buffer.slice(bytes.byteOffset + Number(t.fileOffset), bytes.byteOffset + Number(t.fileOffset) + 4 * n));
    expect(Number(tensors[0]!.fileOffset) % 32).toBe(0);
    expect(Array.from(at(tensors[0]!, 3))).toEqual(Array.from(a));
    expect(Array.from(at(tensors[1]!, 10))).toEqual(Array.from(b));
  });

  it('writes general.alignment and aligns offsets to it when it is not the default', async () => {
    const path = join(dir, 'aligned.gguf');
    writeGguf(path, { metadata: [['general.architecture', gguf.str('llama')]], tensors: [{ name: 'x', dims: [1], data: new Float32Array(1) }, { name: 'y', dims: [1], data: new Float32Array(1) }], alignment: 64 });
    const info = await read(path);
    expect((info.metadata.general as { alignment?: number }).alignment).toBe(64);
    expect(info.tensorInfo!.map((t) => Number(t.offset))).toEqual([0, 64]);
    expect(Number(info.tensorInfo![0]!.fileOffset) % 64).toBe(0);
  });

  it('refuses a tensor whose dims do not match its data', () => {
    expect(() => writeGguf(join(dir, 'bad.gguf'), { metadata: [], tensors: [{ name: 'x', dims: [2, 2], data: new Float32Array(3) }] })).toThrow(/x: dims 2x2 hold 4 values, data has 3/);
  });
});

describe('the generated tiny model', () => {
  it('is a llama with the byte vocabulary and the expected tensors', async () => {
    const path = ensureTinyModel(join(dir, 'models'));
    const info = await read(path);
    const { tokens, types } = byteVocabulary();
    expect(info.metadata.general.architecture).toBe('llama');
    const tok = info.metadata.tokenizer as unknown as { ggml: Record<string, unknown> };
    expect(tok.ggml.model).toBe('llama');
    expect(tok.ggml.tokens).toEqual(tokens);
    expect(tok.ggml.token_type).toEqual(types);
    expect(tokens.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>']);
    expect(tokens[3 + 255]).toBe('<0xFF>');
    expect(types.slice(3, 259).every((t) => t === 6)).toBe(true);
    const llama = info.architectureMetadata;
    expect(llama).toMatchObject({ embedding_length: TINY_MODEL.width, block_count: TINY_MODEL.layers, feed_forward_length: TINY_MODEL.feedForward });
    expect(llama.attention).toMatchObject({ head_count: TINY_MODEL.heads, head_count_kv: TINY_MODEL.heads });
    const names = info.tensorInfo!.map((t) => t.name);
    expect(names).toHaveLength(3 + 9 * TINY_MODEL.layers);
    expect(names).toContain(`blk.${TINY_MODEL.layers - 1}.ffn_down.weight`);
    expect(info.tensorInfo!.find((t) => t.name === 'token_embd.weight')!.dimensions.map(Number)).toEqual([TINY_MODEL.width, tokens.length]);
  });

  it('is the same bytes every time (fixed seed), and a different seed gives different weights', () => {
    const a = join(dir, 'a.gguf');
    const b = join(dir, 'b.gguf');
    const c = join(dir, 'c.gguf');
    writeGguf(a, tinyModelFile());
    writeGguf(b, tinyModelFile());
    writeGguf(c, tinyModelFile({ ...TINY_MODEL, seed: 2 }));
    const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
    expect(sha(a)).toBe(sha(b));
    expect(sha(c)).not.toBe(sha(a));
    expect(sha(ensureTinyModel(join(dir, 'models')))).toBe(sha(a));
  });
});
