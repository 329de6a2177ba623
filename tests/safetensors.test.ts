import { describe, expect, test } from '@jest/globals';
import { parseSafetensors, serializeSafetensors, roundBf16, roundFp16, SafetensorsError, type TensorData } from '../src/safetensors/index.js';

const t = (dtype: TensorData['dtype'], shape: number[], data: number[]): TensorData => ({ dtype, shape, data: Float64Array.from(data) });

function withHeader(header: object, dataBytes: number): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, Buffer.alloc(dataBytes)]);
}

describe('safetensors', () => {
  test('round trip of every dtype', () => {
    const m = new Map<string, TensorData>([
      ['a', t('bf16', [2, 2], [1, -2.5, 0.1, 3e5].map(roundBf16))],
      ['b', t('fp16', [3], [0.5, -1e-6, 65504].map(roundFp16))],
      ['c', t('fp32', [2], [Math.fround(0.1), -7])],
      ['d', t('i32', [2], [-3, 2 ** 31 - 1])],
      ['e', t('i64', [1], [2 ** 40])],
      ['f', t('bool', [3], [1, 0, 1])],
      ['g', t('fp32', [0], [])],
    ]);
    const buf = serializeSafetensors(m, { k: 'v' });
    expect((8 + Number(buf.readBigUInt64LE(0))) % 8).toBe(0);
    const back = parseSafetensors(buf, 'x');
    expect(back.metadata).toEqual({ k: 'v' });
    for (const [k, v] of m) {
      expect(back.tensors.get(k)!.shape).toEqual(v.shape);
      expect([...back.tensors.get(k)!.data]).toEqual([...v.data]);
    }
  });

  test('bf16 and fp16 round to nearest even', () => {
    expect(roundBf16(1 + 2 ** -8)).toBe(1); // tie -> even
    expect(roundBf16(1 + 3 * 2 ** -9)).toBe(1 + 2 ** -7);
    expect(roundFp16(1 + 2 ** -11)).toBe(1);
    expect(roundFp16(70000)).toBe(Infinity);
    expect(roundFp16(2 ** -24)).toBe(2 ** -24);
  });

  test.each([
    [{ a: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, 8, /dtype "F64" is not one of/],
    [{ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 4, /needs 8 bytes/],
    [{ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 2, /run past the end/],
    [{ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8, /expected 0/],
    [{ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 4, /contiguous/],
    [{ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4, /non-negative/],
    [{ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 12, /cover 4 data bytes but the file has 12/],
  ])('rejects a bad header %#', (header, n, msg) => {
    expect(() => parseSafetensors(withHeader(header, n), 'w.safetensors')).toThrow(msg);
    expect(() => parseSafetensors(withHeader(header, n), 'w.safetensors')).toThrow(SafetensorsError);
  });

  test('rejects truncated and non-JSON files', () => {
    expect(() => parseSafetensors(Buffer.alloc(3), 'f')).toThrow(/not a safetensors file/);
    const b = Buffer.alloc(12);
    b.writeBigUInt64LE(1000n);
    expect(() => parseSafetensors(b, 'f')).toThrow(/exceeds the file size/);
    const c = Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{x')]);
    expect(() => parseSafetensors(c, 'f')).toThrow(/not valid JSON/);
  });
});
