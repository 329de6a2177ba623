// Shape inference and FLOP rules of individual ops, on small hand-checked cases.
import { describe, expect, it } from '@jest/globals';
import { modelStats, opCost } from '../src/analysis/cost.js';
import { OPS } from '../src/ops/registry.js';
import { fromText } from './helpers.js';

/** Elaborates `output y = EXPR` over the given inputs; returns y's shape and the graph. */
function run(inputs: string, expr: string) {
  const r = fromText(`model m {\n${inputs}\noutput y = ${expr}\n}`);
  if (!r.graph) throw new Error(r.diagnostics.map((d) => `${d.code} ${d.message}`).join('\n'));
  const g = r.graph;
  return { shape: g.tensors[g.outputs[0]].shape, g, stats: modelStats(g) };
}
const errorOf = (inputs: string, expr: string) => fromText(`model m {\n${inputs}\noutput y = ${expr}\n}`).diagnostics[0]?.message;

describe('conv3d and upsample (the causal VAE)', () => {
  it('causal stride-2 conv maps 129 frames to 65 and halves space', () => {
    const r = run('input x: fp16[1, 3, 129, 720, 1280]', 'conv3d["c"](x, 128, kernel=3, stride=(2, 2, 2))');
    expect(r.shape).toEqual([1, 128, 65, 360, 640]);
    expect(r.stats.flopsConv).toBe(2 * 128 * 65 * 360 * 640 * 3 * 27);
    expect(r.stats.params).toBe(128 * 3 * 27 + 128);
  });

  it('kernel = stride patch embedding without padding', () => {
    expect(run('input x: bf16[1, 16, 33, 90, 160]', 'conv3d["p"](x, 3072, kernel=(1, 2, 2), stride=(1, 2, 2), causal=false)').shape)
      .toEqual([1, 3072, 33, 45, 80]);
  });

  it('causal upsample keeps frame 0 single: 33 -> 65', () => {
    expect(run('input x: fp16[1, 512, 33, 90, 160]', 'upsample(x, factor=(2, 2, 2))').shape).toEqual([1, 512, 65, 180, 320]);
    expect(run('input x: fp16[1, 512, 33, 90, 160]', 'upsample(x, factor=2, causal=false)').shape).toEqual([1, 512, 66, 180, 320]);
  });
});

describe('attention', () => {
  const qkv = 'input q: bf16[2, 64, 8, 32]\ninput k: bf16[2, 64, 2, 32]';

  it('supports GQA and counts 4*Lq*Lk*D per head', () => {
    const r = run(qkv, 'attention(q, k, k)');
    expect(r.shape).toEqual([2, 64, 8, 32]);
    expect(r.stats.flopsAttention).toBe(2 * 8 * 4 * 64 * 64 * 32);
  });

  it('counts causal as half and frame-causal as F(F+1)/2 of F^2 frame pairs', () => {
    const dense = 2 * 8 * 4 * 64 * 64 * 32;
    expect(run(qkv, 'attention(q, k, k, causal=true)').stats.flopsAttention).toBe(dense / 2);
    expect(run(qkv, 'attention(q, k, k, frame=16)').stats.flopsAttention).toBe((dense * (4 * 5)) / 2 / 16);
  });

  it('checks mask and segment shapes', () => {
    expect(errorOf(`${qkv}\ninput m: bool[2, 63]`, 'attention(q, k, k, mask=m)')).toMatch(/mask must be \[2, 64\]/);
    expect(errorOf(`${qkv}\ninput s: fp32[3]`, 'attention(q, k, k, segments=s)')).toMatch(/segments must be an i32 vector/);
    expect(errorOf('input q: bf16[2, 64, 6, 32]\ninput k: bf16[2, 64, 4, 32]', 'attention(q, k, k)')).toMatch(/heads not a multiple/);
  });
});

describe('rope', () => {
  it('splits the head dim per axis over a 3D grid', () => {
    expect(run('input q: bf16[1, 24, 4, 128]', 'rope(q, grid=(2, 3, 4), axes=(16, 56, 56), theta=256)').shape).toEqual([1, 24, 4, 128]);
  });

  it('rejects a grid that does not cover the tokens or axes that do not sum to D', () => {
    expect(errorOf('input q: bf16[1, 24, 4, 128]', 'rope(q, grid=(2, 3, 5), axes=(16, 56, 56))')).toMatch(/has 30 positions, x has L=24/);
    expect(errorOf('input q: bf16[1, 24, 4, 128]', 'rope(q, grid=(2, 3, 4), axes=(16, 56, 58))')).toMatch(/sum to the head dim 128/);
  });
});

describe('views', () => {
  it('patchify and unpatchify are inverse in shape', () => {
    const p = run('input x: bf16[1, 16, 2, 8, 8]', 'patchify(x, patch=(1, 2, 2))');
    expect(p.shape).toEqual([1, 32, 64]);
    expect(run('input t: bf16[1, 32, 64]', 'unpatchify(t, grid=(2, 4, 4), patch=(1, 2, 2), channels=16)').shape).toEqual([1, 16, 2, 8, 8]);
  });

  it('reshape infers one -1 and views cost nothing', () => {
    const r = run('input x: bf16[2, 6, 8]', 'transpose(reshape(x, (2, -1, 4)), 0, 2)');
    expect(r.shape).toEqual([4, 12, 2]);
    expect(r.stats.flopsForward + r.stats.flopsElementwise).toBe(0);
  });

  it('split needs sizes that cover the axis', () => {
    expect(errorOf('input x: bf16[2, 10]', 'split(x, (3, 6))')).toMatch(/sum to 9, axis 1/);
  });
});

describe('norms, linear and reductions', () => {
  it('layernorm without affine owns no weights; groupnorm needs divisible channels', () => {
    expect(run('input x: bf16[2, 8]', 'layernorm(x, affine=false)').stats.params).toBe(0);
    expect(errorOf('input x: bf16[1, 12, 2, 2, 2]', 'groupnorm["g"](x, groups=8)')).toMatch(/12 is not divisible by 8/);
  });

  it('linear counts 2*rows*in*out FLOPs plus the bias add as elementwise', () => {
    const r = run('input x: bf16[3, 5, 8]', 'linear["fc"](x, 16)');
    expect(r.shape).toEqual([3, 5, 16]);
    expect(r.stats.flopsGemm).toBe(2 * 15 * 8 * 16);
    expect(opCost(r.g, 0).elementwise).toBe(15 * 16);
  });

  it('masked mean drops the reduced axis', () => {
    expect(run('input x: bf16[2, 7, 4]\ninput m: bool[2, 7]', 'mean(x, 1, mask=m)').shape).toEqual([2, 4]);
    expect(errorOf('input x: bf16[2, 7, 4]\ninput m: bool[2, 6]', 'sum(x, 1, mask=m)')).toMatch(/mask must be \[2, 7\]/);
  });

  it('modulate and gate broadcast a per-sample vector over tokens', () => {
    expect(run('input x: bf16[2, 7, 4]\ninput s: bf16[2, 4]', 'gate(modulate(x, s, s), s)').shape).toEqual([2, 7, 4]);
    expect(errorOf('input x: bf16[2, 7, 4]\ninput s: bf16[2, 5]', 'modulate(x, s, s)')).toMatch(/shift must be \[2, 4\]/);
  });
});

describe('dtype rules', () => {
  // The per-op decision, pinned: which tensor parameters need float, which take integers or bools,
  // and which (views, add/sub/mul, cast, upsample, unpatchify) take any dtype.
  it('every op declares the dtypes its tensor parameters accept', () => {
    const rules: Record<string, Record<string, string>> = {};
    for (const d of OPS.values()) {
      const r = Object.fromEntries(d.params.filter((p) => p.dtype).map((p) => [p.name, p.dtype!]));
      if (Object.keys(r).length > 0) rules[d.name] = r;
    }
    expect(OPS.size).toBe(29);
    expect(rules).toEqual({
      linear: { x: 'float' }, matmul: { a: 'float', b: 'float' },
      attention: { q: 'float', k: 'float', v: 'float', mask: 'bool' }, rope: { x: 'float' },
      layernorm: { x: 'float' }, rmsnorm: { x: 'float' }, groupnorm: { x: 'float' },
      silu: { x: 'float' }, gelu: { x: 'float' },
      modulate: { x: 'float', shift: 'float', scale: 'float' }, gate: { x: 'float', g: 'float' },
      conv3d: { x: 'float' }, embedding: { ids: 'index' }, timestep_embedding: { t: 'numeric' },
      mean: { x: 'float', mask: 'bool' }, sum: { x: 'numeric', mask: 'bool' },
    });
  });

  it.each([
    ['silu(i)', /silu x must be floating point .* got i32/],
    ['gelu(b)', /gelu x must be floating point .* got bool/],
    ['linear["l"](i, 4)', /linear x must be floating point/],
    ['layernorm["ln"](i)', /layernorm x must be floating point/],
    ['rmsnorm["ln"](i)', /rmsnorm x must be floating point/],
    ['attention(q, q, q)', /attention q must be floating point/],
    ['rope(q)', /rope x must be floating point/],
    ['matmul(i, i)', /matmul a must be floating point/],
    ['mean(i, 1)', /mean x must be floating point/],
    ['modulate(x, s, cast(s, dtype="i32"))', /modulate scale must be floating point/],
    ['sum(b, 1)', /sum x must be numeric \(not bool\), got bool/],
    ['sum(x, 1, mask=i)', /sum mask must be bool, got i32/],
    ['attention(h, h, h, mask=cast(b, dtype="fp32"))', /attention mask must be bool, got fp32/],
    ['timestep_embedding(cast(s, dtype="bool"))', /timestep_embedding t must be numeric/],
    ['linear["l"](x, 4, dtype="i64")', /linear dtype must be floating point .* got "i64"/],
    ['embedding["e"](i, 10, 4, dtype="fp8")', /embedding dtype must be floating point .* got "fp8"/],
  ])('%s is a dtype error (MC2004)', (expr, message) => {
    const inputs = 'input i: i32[2, 4]\ninput b: bool[2, 4]\ninput x: bf16[2, 4]\ninput s: bf16[2]\ninput q: i32[2, 8, 4, 16]\ninput h: bf16[2, 8, 4, 16]';
    const d = fromText(`model m {\n${inputs}\noutput y = ${expr}\n}`).diagnostics;
    expect(d.map((e) => e.code)).toEqual(['MC2004']);
    expect(d[0].message).toMatch(message);
  });

  it('integer tensors still flow through views, add/sub/mul, sum, cast, upsample and index inputs', () => {
    expect(run('input i: i32[2, 4]', 'sum(transpose(reshape(i, (4, 2)), 0, 1) * i - slice(concat(i, i, axis=0), 0, 0, 2) + i, 1)').shape).toEqual([2]);
    expect(run('input i: i64[1, 1, 2, 2, 2]', 'upsample(i, factor=2)').shape).toEqual([1, 1, 3, 4, 4]);
    expect(run('input t: i32[3]', 'timestep_embedding(t, size=8)').shape).toEqual([3, 8]);
    expect(run('input i: i32[2, 4]', 'silu(cast(i, dtype="fp32"))').shape).toEqual([2, 4]);
  });
});
