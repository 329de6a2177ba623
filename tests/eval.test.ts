// Small hand-checked cases per op for the reference interpreter, plus the random generators.
import { describe, expect, test } from '@jest/globals';
import { evaluate, erf, relError } from '../src/eval/interp.js';
import { randomInputs, randomWeights, hash32 } from '../src/eval/random.js';
import type { TensorData } from '../src/safetensors/index.js';
import { fromText, load } from './helpers.js';

const td = (shape: number[], data: number[], dtype: TensorData['dtype'] = 'fp32'): TensorData => ({ dtype, shape, data: Float64Array.from(data) });

/** Runs `model m { ... }` built from a body, with named inputs and weights; returns output 'y'. */
function run(body: string, inputs: Record<string, TensorData>, weights: Record<string, TensorData> = {}, mode: 'fp32' | 'bf16' = 'fp32'): number[] {
  const decl = Object.entries(inputs).map(([k, v]) => `  input ${k}: ${v.dtype}[${v.shape.join(', ')}]`).join('\n');
  const r = fromText(`model m {\n${decl}\n${body}\n}\n`);
  if (!r.graph) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  const out = evaluate(r.graph, new Map(Object.entries(weights)), new Map(Object.entries(inputs)), mode);
  return [...out.outputs.get('y')!.data];
}

const close = (a: number[], b: number[], tol = 1e-6): void => {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]))));
};

describe('reference interpreter: ops', () => {
  test('linear: x W^T + b', () => {
    close(run('  output y = linear["l"](x, 2)', { x: td([1, 3], [1, 2, 3]) }, { 'l.weight': td([2, 3], [1, 0, 0, 1, 1, 1]), 'l.bias': td([2], [10, 20]) }), [11, 26]);
  });
  test('add broadcasts, sub, mul', () => {
    close(run('  output y = x + b', { x: td([2, 2], [1, 2, 3, 4]), b: td([2], [10, 20]) }), [11, 22, 13, 24]);
    close(run('  output y = x * b', { x: td([2, 2], [1, 2, 3, 4]), b: td([2, 1], [2, 3]) }), [2, 4, 9, 12]);
    close(run('  output y = x - b', { x: td([2], [1, 2]), b: td([2], [3, 3]) }), [-2, -1]);
  });
  test('silu and gelu', () => {
    close(run('  output y = silu(x)', { x: td([2], [0, 1]) }), [0, 1 / (1 + Math.exp(-1))]);
    close(run('  output y = gelu(x, approx="none")', { x: td([1], [1]) }), [0.8413447460685429]);
    close(run('  output y = gelu(x)', { x: td([1], [1]) }), [0.8411919906082768]);
    expect(erf(0.5)).toBeCloseTo(0.5204998778130465, 13);
    expect(erf(3.5)).toBeCloseTo(0.9999992569016276, 13);
  });
  test('layernorm without affine, rmsnorm with weight', () => {
    const s = 1 / Math.sqrt(1 + 1e-5);
    close(run('  output y = layernorm(x, affine=false)', { x: td([1, 2], [1, 3]) }), [-s, s]);
    const r = 1 / Math.sqrt((9 + 16) / 2 + 1e-6);
    close(run('  output y = rmsnorm["n"](x)', { x: td([1, 2], [3, 4]) }, { 'n.weight': td([2], [1, 2]) }), [3 * r, 8 * r]);
  });
  test('modulate and gate broadcast per sample', () => {
    close(run('  output y = modulate(x, sh, sc)', { x: td([1, 2, 2], [1, 2, 3, 4]), sh: td([1, 2], [10, 20]), sc: td([1, 2], [1, 0]) }), [12, 22, 16, 24]);
    close(run('  output y = gate(x, g)', { x: td([1, 2, 2], [1, 2, 3, 4]), g: td([1, 2], [2, 3]) }), [2, 6, 6, 12]);
  });
  test('attention: one key gives v; causal first row sees only itself; mask hides keys', () => {
    const q = td([1, 2, 1, 2], [1, 0, 0, 1]);
    const k = td([1, 2, 1, 2], [1, 0, 0, 1]);
    const v = td([1, 2, 1, 2], [1, 2, 3, 4]);
    const e = Math.exp(1 / Math.sqrt(2));
    const p = e / (e + 1);
    close(run('  output y = attention(q, k, v, causal=true)', { q, k, v }), [1, 2, (1 - p) * 1 + p * 3, (1 - p) * 2 + p * 4]);
    close(run('  output y = attention(q, k, v, mask=m)', { q, k, v, m: td([1, 2], [1, 0], 'bool') }), [1, 2, 1, 2]);
    close(run('  output y = attention(q, k, v, frame=1)', { q, k, v }), run('  output y = attention(q, k, v, causal=true)', { q, k, v }));
    close(run('  output y = attention(q, k, v, segments=s)', { q, k, v, s: td([3], [0, 1, 2], 'i32') }), [1, 2, 3, 4]);
    // Offsets out of order or range are an input error, not a silently different attention.
    for (const bad of [[0, 3, 2], [1, 0, 2], [0, -1, 2]])
      expect(() => run('  output y = attention(q, k, v, segments=s)', { q, k, v, s: td([3], bad, 'i32') })).toThrow(/segment offsets must be non-decreasing within \[0, 2\]/);
  });
  test('rope rotates interleaved pairs by pos * theta^(-2j/d)', () => {
    // L = 2 positions, D = 4 (two pairs): position 1 rotates pair 0 by 1 rad and pair 1 by theta^-0.5.
    const x = td([1, 2, 1, 4], [1, 0, 1, 0, 1, 0, 1, 0]);
    const a = 1 / Math.sqrt(100);
    close(run('  output y = rope(x, theta=100)', { x }), [1, 0, 1, 0, Math.cos(1), Math.sin(1), Math.cos(a), Math.sin(a)]);
    close(run('  output y = rope(x, theta=100, interleaved=false)', { x: td([1, 2, 1, 4], [1, 1, 0, 0, 1, 1, 0, 0]) }), [1, 1, 0, 0, Math.cos(1), Math.cos(a), Math.sin(1), Math.sin(a)]);
  });
  test('views: concat, split, transpose, slice, reshape', () => {
    close(run('  output y = concat(a, b, axis=0)', { a: td([1, 2], [1, 2]), b: td([1, 2], [3, 4]) }), [1, 2, 3, 4]);
    close(run('  p, q = split(x, (1, 2), axis=1)\n  output y = q', { x: td([2, 3], [1, 2, 3, 4, 5, 6]) }), [2, 3, 5, 6]);
    close(run('  output y = transpose(x, 0, 1)', { x: td([2, 3], [1, 2, 3, 4, 5, 6]) }), [1, 4, 2, 5, 3, 6]);
    close(run('  output y = slice(x, 1, 1, 3)', { x: td([2, 3], [1, 2, 3, 4, 5, 6]) }), [2, 3, 5, 6]);
  });
  test('patchify and unpatchify are inverse', () => {
    const x = td([1, 2, 2, 2, 2], Array.from({ length: 16 }, (_, i) => i));
    close(run('  output y = unpatchify(patchify(x, patch=(1, 2, 2)), grid=(2, 1, 1), patch=(1, 2, 2), channels=2)', { x }), [...x.data]);
    // patchify: token 0 = frame 0, features (c, ph, pw)
    close(run('  output y = patchify(x, patch=(1, 2, 2))', { x }).slice(0, 8), [0, 1, 2, 3, 8, 9, 10, 11]);
  });
  test('causal conv3d replicates edges; upsample keeps frame 0 single', () => {
    // kernel 3 in time only, weights [1, 0, 0]: output t reads frame t-2 clamped to 0.
    const w = td([1, 1, 3, 1, 1], [1, 0, 0]);
    const x = td([1, 1, 3, 1, 1], [5, 6, 7]);
    close(run('  output y = conv3d["c"](x, 1, kernel=(3, 1, 1), bias=false)', { x }, { 'c.weight': w }), [5, 5, 5]);
    close(run('  output y = upsample(x, factor=(2, 1, 1))', { x }), [5, 6, 6, 7, 7]);
    close(run('  output y = upsample(x, factor=(2, 1, 1), causal=false)', { x }), [5, 5, 6, 6, 7, 7]);
  });
  test('embedding, timestep_embedding, masked mean', () => {
    close(run('  output y = embedding["e"](ids, 3, width=2, dtype="fp32")', { ids: td([2], [2, 0], 'i32') }, { 'e.weight': td([3, 2], [1, 2, 3, 4, 5, 6]) }), [5, 6, 1, 2]);
    close(run('  output y = timestep_embedding(t, size=4)', { t: td([1], [2]) }), [Math.cos(2), Math.cos(2 * Math.fround(0.01)), Math.sin(2), Math.sin(2 * Math.fround(0.01))]);
    close(run('  output y = mean(x, 1, mask=m)', { x: td([1, 3, 1], [1, 2, 9]), m: td([1, 3], [1, 1, 0], 'bool') }), [1.5]);
  });
  test('bf16 mode rounds each op output', () => {
    expect(run('  output y = x + b', { x: td([1], [1], 'bf16'), b: td([1], [2 ** -9], 'bf16') }, {}, 'bf16')).toEqual([1]);
    expect(run('  output y = x + b', { x: td([1], [1], 'bf16'), b: td([1], [2 ** -9], 'bf16') }, {}, 'fp32')).toEqual([1 + 2 ** -9]);
  });
});

describe('random weights and inputs', () => {
  test('deterministic, sensible, consistent segments', () => {
    const g = load('examples/tiny/dit.mc');
    const w1 = randomWeights(g, 7);
    const w2 = randomWeights(g, 7);
    expect([...w1.get('double_blocks.0.img_attn_qkv.weight')!.data]).toEqual([...w2.get('double_blocks.0.img_attn_qkv.weight')!.data]);
    expect([...w1.get('double_blocks.0.img_attn_q_norm.weight')!.data].every((v) => v === 1)).toBe(true);
    const i = randomInputs(g, 3);
    const t = i.get('timestep')!.data[0];
    expect(t >= 0 && t <= 1000).toBe(true);
    expect([...i.get('cu_seqlens')!.data]).toEqual([0, 32 + 6, 40]); // 32 image + 6 valid text of 8
    expect(hash32(0)).toBe(0);
    expect(relError([1, 2], [1, 2])).toBe(0);
  });
});
