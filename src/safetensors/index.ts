// safetensors reading and writing (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]},
// "__metadata__"?: {string: string}}, then the data. The reader validates everything it relies on
// (dtype names, shapes, byte counts, offsets contiguous from 0 and inside the file) and throws a
// SafetensorsError with one line that names the tensor and what is wrong. Values are handed out as
// Float64Array (exact for every supported dtype: bf16/fp16/fp32 widen exactly, i32 exactly, i64
// exactly up to 2^53, bool as 0/1), which is what the interpreter computes on.
import { readFileSync, writeFileSync } from 'node:fs';
import type { DType } from '../ir/types.js';

export class SafetensorsError extends Error {}

export const ST_DTYPES: Readonly<Record<string, DType>> = { BF16: 'bf16', F16: 'fp16', F32: 'fp32', I32: 'i32', I64: 'i64', BOOL: 'bool' };
export const ST_NAME: Readonly<Record<DType, string>> = { bf16: 'BF16', fp16: 'F16', fp32: 'F32', i32: 'I32', i64: 'I64', bool: 'BOOL' };
const SIZE: Readonly<Record<DType, number>> = { bf16: 2, fp16: 2, fp32: 4, i32: 4, i64: 8, bool: 1 };

export interface TensorData {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

// ---- scalar conversions (round to nearest even, as the C++ runtime does)

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function bf16Bits(x: number): number {
  f32[0] = x;
  const u = u32[0];
  if (Number.isNaN(x)) return 0x7fc0;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}
export function bf16ToNumber(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}
export const roundBf16 = (x: number): number => bf16ToNumber(bf16Bits(x));

export function fp16Bits(x: number): number {
  f32[0] = x;
  const u = u32[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let man = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    man |= 0x800000;
    const shift = 14 - e;
    let h = man >>> shift;
    const rem = man & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (man >>> 13);
  const rem = man & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  e = h >>> 10;
  return sign | h;
}
export function fp16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 0) return sign * man * 2 ** -24;
  if (exp === 31) return man ? NaN : sign * Infinity;
  return sign * (1 + man / 1024) * 2 ** (exp - 15);
}
export const roundFp16 = (x: number): number => fp16ToNumber(fp16Bits(x));

/** Rounds a value to what a tensor of `dtype` can hold. */
export function roundTo(dtype: DType, x: number): number {
  switch (dtype) {
    case 'bf16': return roundBf16(x);
    case 'fp16': return roundFp16(x);
    case 'fp32': return Math.fround(x);
    case 'i32': return Math.trunc(x) | 0;
    case 'i64': return Math.trunc(x);
    case 'bool': return x !== 0 ? 1 : 0;
  }
}

// ---- reading

export interface SafetensorsFile {
  readonly tensors: Map<string, TensorData>;
  readonly metadata: Record<string, string>;
}

function decode(dtype: DType, buf: Buffer, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'bf16': out[i] = bf16ToNumber(buf.readUInt16LE(2 * i)); break;
      case 'fp16': out[i] = fp16ToNumber(buf.readUInt16LE(2 * i)); break;
      case 'fp32': out[i] = buf.readFloatLE(4 * i); break;
      case 'i32': out[i] = buf.readInt32LE(4 * i); break;
      case 'i64': out[i] = Number(buf.readBigInt64LE(8 * i)); break;
      case 'bool': out[i] = buf[i] ? 1 : 0; break;
    }
  }
  return out;
}

/** Parses a safetensors image; `what` names the file in errors. */
export function parseSafetensors(bytes: Buffer, what: string): SafetensorsFile {
  const fail = (m: string): never => { throw new SafetensorsError(`${what}: ${m}`); };
  if (bytes.length < 8) fail(`not a safetensors file (${bytes.length} bytes, need an 8-byte header length)`);
  const n = bytes.readBigUInt64LE(0);
  if (n > BigInt(bytes.length - 8) || n > 100_000_000n) fail(`header length ${n} exceeds the file size ${bytes.length}`);
  let header: unknown;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + Number(n)).toString('utf8'));
  } catch {
    fail('the header is not valid JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('the header is not a JSON object');
  const dataStart = 8 + Number(n);
  const dataLen = bytes.length - dataStart;
  const entries: { name: string; dtype: DType; shape: number[]; begin: number; end: number }[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Object.values(v).some((x) => typeof x !== 'string')) fail('__metadata__ must map strings to strings');
      metadata = v as Record<string, string>;
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) fail(`tensor '${name}': entry is not an object`);
    const dtype = ST_DTYPES[String(e.dtype)];
    if (!dtype) fail(`tensor '${name}': dtype ${JSON.stringify(e.dtype)} is not one of BF16, F16, F32, I32, I64, BOOL`);
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(`tensor '${name}': shape must be a list of non-negative integers`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || off.some((d) => !Number.isSafeInteger(d) || d < 0) || off[1] < off[0])
      fail(`tensor '${name}': data_offsets must be [begin, end] with 0 <= begin <= end`);
    const [begin, end] = off as number[];
    const shape = e.shape as number[];
    const want = shape.reduce((a, b) => a * b, 1) * SIZE[dtype];
    if (end - begin !== want) fail(`tensor '${name}': ${ST_NAME[dtype]}[${shape.join(', ')}] needs ${want} bytes, data_offsets give ${end - begin}`);
    if (end > dataLen) fail(`tensor '${name}': data_offsets [${begin}, ${end}] run past the end of the data (${dataLen} bytes)`);
    entries.push({ name, dtype, shape, begin, end });
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin !== at) fail(`tensor '${e.name}': data starts at ${e.begin}, expected ${at} (offsets must be contiguous, no gaps or overlaps)`);
    at = e.end;
  }
  if (at !== dataLen) fail(`the tensors cover ${at} data bytes but the file has ${dataLen}`);
  const tensors = new Map<string, TensorData>();
  for (const e of entries) {
    const numel = e.shape.reduce((a, b) => a * b, 1);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: decode(e.dtype, bytes.subarray(dataStart + e.begin, dataStart + e.end), numel) });
  }
  return { tensors, metadata };
}

export function readSafetensors(path: string): SafetensorsFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SafetensorsError(`cannot read '${path}' (${code === 'ENOENT' ? 'no such file' : code ?? 'error'})`);
  }
  return parseSafetensors(bytes, path);
}

// ---- writing

function encode(t: TensorData): Buffer {
  const n = t.data.length;
  const buf = Buffer.alloc(n * SIZE[t.dtype]);
  for (let i = 0; i < n; i++) {
    const x = t.data[i];
    switch (t.dtype) {
      case 'bf16': buf.writeUInt16LE(bf16Bits(x), 2 * i); break;
      case 'fp16': buf.writeUInt16LE(fp16Bits(x), 2 * i); break;
      case 'fp32': buf.writeFloatLE(x, 4 * i); break;
      case 'i32': buf.writeInt32LE(Math.trunc(x) | 0, 4 * i); break;
      case 'i64': buf.writeBigInt64LE(BigInt(Math.trunc(x)), 8 * i); break;
      case 'bool': buf[i] = x !== 0 ? 1 : 0; break;
    }
  }
  return buf;
}

/** Serializes tensors in the given order (deterministic); the header is padded to 8 bytes. */
export function serializeSafetensors(tensors: ReadonlyMap<string, TensorData>, metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const parts: Buffer[] = [];
  let at = 0;
  for (const [name, t] of tensors) {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) throw new SafetensorsError(`tensor '${name}': shape [${t.shape.join(', ')}] has ${numel} elements, data has ${t.data.length}`);
    const b = encode(t);
    header[name] = { dtype: ST_NAME[t.dtype], shape: t.shape, data_offsets: [at, at + b.length] };
    parts.push(b);
    at += b.length;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json, 'utf8'), ...parts]);
}

export function writeSafetensors(path: string, tensors: ReadonlyMap<string, TensorData>, metadata?: Record<string, string>): void {
  writeFileSync(path, serializeSafetensors(tensors, metadata));
}
