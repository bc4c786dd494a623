// A GGUF (version 3) writer: metadata key/values and F32 tensors, laid out as ggml's docs/gguf.md describes
// (little-endian header, metadata, tensor infos, then the tensor data, each tensor at an aligned offset).
// Only what the engine's generated model needs: no quantised types.
import { closeSync, openSync, writeSync } from 'node:fs';

const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;
const GGML_TYPE_F32 = 0;

/** GGUF metadata value types (gguf.md `gguf_metadata_value_type`). */
export const GgufType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

type ScalarType = Exclude<(typeof GgufType)[keyof typeof GgufType], typeof GgufType.ARRAY>;

/** A typed metadata value: JS numbers do not say whether they are u32, i32 or f32, so the writer is told. */
export type GgufValue =
  | { type: ScalarType; value: number | bigint | boolean | string }
  | { type: typeof GgufType.ARRAY; itemType: ScalarType; value: readonly (number | bigint | boolean | string)[] };

export const gguf = {
  u32: (value: number): GgufValue => ({ type: GgufType.UINT32, value }),
  i32: (value: number): GgufValue => ({ type: GgufType.INT32, value }),
  f32: (value: number): GgufValue => ({ type: GgufType.FLOAT32, value }),
  bool: (value: boolean): GgufValue => ({ type: GgufType.BOOL, value }),
  str: (value: string): GgufValue => ({ type: GgufType.STRING, value }),
  array: (itemType: ScalarType, value: readonly (number | bigint | boolean | string)[]): GgufValue => ({ type: GgufType.ARRAY, itemType, value }),
};

export interface GgufTensor {
  name: string;
  /** ggml order: dims[0] is the fastest-varying (row length), as GGUF stores them. */
  dims: readonly number[];
  data: Float32Array;
}

export interface GgufFile {
  metadata: ReadonlyArray<readonly [string, GgufValue]>;
  tensors: readonly GgufTensor[];
  /** Default 32; written as `general.alignment` only if it differs. */
  alignment?: number;
}

/** Little-endian byte sink that grows as needed. */
class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number) { this.reserve(1); this.view.setUint8(this.length, v); this.length += 1; }
  i8(v: number) { this.reserve(1); this.view.setInt8(this.length, v); this.length += 1; }
  u16(v: number) { this.reserve(2); this.view.setUint16(this.length, v, true); this.length += 2; }
  i16(v: number) { this.reserve(2); this.view.setInt16(this.length, v, true); this.length += 2; }
  u32(v: number) { this.reserve(4); this.view.setUint32(this.length, v, true); this.length += 4; }
  i32(v: number) { this.reserve(4); this.view.setInt32(this.length, v, true); this.length += 4; }
  f32(v: number) { this.reserve(4); this.view.setFloat32(this.length, v, true); this.length += 4; }
  f64(v: number) { this.reserve(8); this.view.setFloat64(this.length, v, true); this.length += 8; }
  u64(v: number | bigint) { this.reserve(8); this.view.setBigUint64(this.length, BigInt(v), true); this.length += 8; }
  i64(v: number | bigint) { this.reserve(8); this.view.setBigInt64(this.length, BigInt(v), true); this.length += 8; }
  bytes(b: Uint8Array) { this.reserve(b.length); this.buf.set(b, this.length); this.length += b.length; }
  string(s: string) { const b = new TextEncoder().encode(s); this.u64(b.length); this.bytes(b); }
  pad(alignment: number) { while (this.length % alignment !== 0) this.u8(0); }
  result(): Uint8Array { return this.buf.subarray(0, this.length); }
}

function writeScalar(w: ByteWriter, type: ScalarType, v: number | bigint | boolean | string): void {
  switch (type) {
    case GgufType.UINT8: return w.u8(Number(v));
    case GgufType.INT8: return w.i8(Number(v));
    case GgufType.UINT16: return w.u16(Number(v));
    case GgufType.INT16: return w.i16(Number(v));
    case GgufType.UINT32: return w.u32(Number(v));
    case GgufType.INT32: return w.i32(Number(v));
    case GgufType.FLOAT32: return w.f32(Number(v));
    case GgufType.BOOL: return w.u8(v ? 1 : 0);
    case GgufType.STRING: return w.string(String(v));
    case GgufType.UINT64: return w.u64(typeof v === 'bigint' ? v : Number(v));
    case GgufType.INT64: return w.i64(typeof v === 'bigint' ? v : Number(v));
    case GgufType.FLOAT64: return w.f64(Number(v));
  }
}

function writeValue(w: ByteWriter, v: GgufValue): void {
  w.u32(v.type);
  if (v.type === GgufType.ARRAY) {
    w.u32(v.itemType);
    w.u64(v.value.length);
    for (const item of v.value) writeScalar(w, v.itemType, item);
  } else {
    writeScalar(w, v.type, v.value);
  }
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/** Everything before the tensor data (header, metadata, tensor infos, padding), and each tensor's data offset. */
export function ggufHeader(file: GgufFile): { header: Uint8Array; offsets: number[] } {
  const alignment = file.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  const metadata = alignment === GGUF_DEFAULT_ALIGNMENT ? file.metadata : [...file.metadata, ['general.alignment', gguf.u32(alignment)] as const];
  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(GGUF_VERSION);
  w.u64(file.tensors.length);
  w.u64(metadata.length);
  for (const [key, value] of metadata) {
    w.string(key);
    writeValue(w, value);
  }
  const offsets: number[] = [];
  let offset = 0;
  for (const t of file.tensors) {
    const elements = t.dims.reduce((a, b) => a * b, 1);
    if (elements !== t.data.length) throw new Error(`tensor ${t.name}: dims ${t.dims.join('x')} hold ${elements} values, data has ${t.data.length}`);
    w.string(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(GGML_TYPE_F32);
    w.u64(offset);
    offsets.push(offset);
    offset = alignUp(offset + t.data.byteLength, alignment);
  }
  w.pad(alignment);
  return { header: w.result(), offsets };
}

/** Writes the file to `path` (tensor data streamed from the arrays, not copied into one buffer). */
export function writeGguf(path: string, file: GgufFile): void {
  const alignment = file.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  const { header, offsets } = ggufHeader(file);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, header);
    let written = 0;
    file.tensors.forEach((t, i) => {
      if (written < offsets[i]!) {
        writeSync(fd, new Uint8Array(offsets[i]! - written));
        written = offsets[i]!;
      }
      // Float32Array is host-endian; every platform node-llama-cpp ships binaries for is little-endian.
      writeSync(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      written += t.data.byteLength;
    });
    const tail = alignUp(written, alignment) - written;
    if (tail > 0) writeSync(fd, new Uint8Array(tail));
  } finally {
    closeSync(fd);
  }
}
