// The acceptance numbers users rely on: exact parameter counts and forward FLOPs of the real
// models, and a verified, frozen IR for every example.
import { describe, expect, it } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { modelStats } from '../src/analysis/cost.js';
import { load } from './helpers.js';

const stats = (path: string, opts = {}) => modelStats(load(path, opts));
const within = (x: number, target: number, tol: number): void => {
  expect(Math.abs(x / target - 1)).toBeLessThan(tol);
};

describe('HunyuanVideo DiT', () => {
  it('has exactly 12,821,012,544 parameters', () => {
    expect(stats('examples/hunyuan-video/dit.mc').params).toBe(12_821_012_544);
  });

  it('has the per-block counts of the reference', () => {
    const s = stats('examples/hunyuan-video/dit.mc');
    const byName = new Map(s.layers.map((l) => [l.name, l.params]));
    expect(byName.get('double_blocks.0')).toBe(339_831_296);
    expect(byName.get('single_blocks.39')).toBe(141_591_808);
    expect(byName.get('txt_in')).toBe(309_175_296);
    expect(byName.get('img_in')).toBe(199_680);
    expect(byName.get('final_layer')).toBe(19_077_184);
    expect(s.layers.filter((l) => l.kind === 'DoubleBlock')).toHaveLength(20);
    expect(s.layers.filter((l) => l.kind === 'SingleBlock')).toHaveLength(40);
  });

  it('does 12.069e15 forward FLOPs at 720x1280x129 (L = 118,800 + 256)', () => {
    within(stats('examples/hunyuan-video/dit.mc').flopsForward, 12.069e15, 0.005);
  });

  it('does 4.285e15 forward FLOPs at 544x960x129', () => {
    within(stats('examples/hunyuan-video/dit.mc', { set: { height: 544, width: 960 } }).flopsForward, 4.285e15, 0.005);
  });

  it('binds the token counts from the dims', () => {
    const g = load('examples/hunyuan-video/dit.mc');
    const latent = g.tensors[g.inputs[0]];
    expect(latent.shape).toEqual([1, 16, 33, 90, 160]);
    expect(g.tensors[g.outputs[0]].shape).toEqual([1, 16, 33, 90, 160]);
    const attn = g.ops.find((o) => o.kind === 'attention' && g.layers[o.layer].kind === 'SingleBlock')!;
    expect(g.tensors[attn.inputs[0]].shape).toEqual([1, 118_800 + 256, 24, 128]);
  });
});

describe('HunyuanVideo VAE', () => {
  it('has 246,478,803 parameters: encoder 100,342,464 + decoder 146,136,339', () => {
    const f = 'examples/hunyuan-video/vae.mc';
    expect(stats(f).params).toBe(246_478_803);
    expect(stats(f, { model: 'encoder' }).params).toBe(100_342_464);
    expect(stats(f, { model: 'decoder' }).params).toBe(146_136_339);
  });

  it('maps 129 frames to 33 latent frames and back', () => {
    const enc = load('examples/hunyuan-video/vae.mc', { model: 'encoder' });
    expect(enc.tensors[enc.outputs[0]].shape).toEqual([1, 32, 33, 90, 160]);
    const dec = load('examples/hunyuan-video/vae.mc', { model: 'decoder' });
    expect(dec.tensors[dec.outputs[0]].shape).toEqual([1, 3, 129, 720, 1280]);
  });

  it('counts the untiled decode as 2.01 PF of convolution plus frame-causal attention', () => {
    const s = stats('examples/hunyuan-video/vae.mc', { model: 'decoder' });
    within(s.flopsConv, 2.01e15, 0.01);
    // Dense mid-block attention is 0.46 PF; frame-causal keeps (F+1)/(2F) of it, F = 33 frames.
    within(s.flopsAttention, 4 * 475_200 ** 2 * 512 * (34 / 66), 1e-9);
  });
});

describe('Llama-3-8B text encoder', () => {
  it('has exactly 8,030,261,248 parameters with the untied head', () => {
    expect(stats('examples/hunyuan-video/text-encoder.mc').params).toBe(8_030_261_248);
  });

  it('drops the two unused layers in the text_encoder model', () => {
    const s = stats('examples/hunyuan-video/text-encoder.mc', { model: 'text_encoder' });
    expect(s.layers.filter((l) => l.kind === 'DecoderLayer')).toHaveLength(30);
    expect(s.params).toBe(8_030_261_248 - 2 * 218_112_000 - 4096 - 128_256 * 4096);
  });
});

describe('MEMO GPT models', () => {
  const V = 50257;
  for (const [size, L, h] of [['7b', 32, 4096], ['13b', 40, 5120], ['30b', 48, 7168], ['65b', 80, 8192]] as const) {
    it(`gpt-${size} has 12Lh^2 + 13Lh + Vh parameters`, () => {
      expect(stats(`examples/memo-gpt/gpt-${size}.mc`).params).toBe(12 * L * h * h + 13 * L * h + V * h);
    });
  }

  it('counts causal attention as half of dense', () => {
    const s = stats('examples/memo-gpt/gpt-7b.mc', { set: { seq: 8192 } });
    expect(s.flopsAttention).toBe(32 * (4 * 8192 * 8192 * 4096) / 2);
    expect(s.flopsGemm).toBe(2 * 8192 * (32 * 12 * 4096 * 4096 + 50257 * 4096));
  });
});

describe('every example', () => {
  const files = ['hunyuan-video', 'memo-gpt', 'tiny'].flatMap((d) =>
    readdirSync(`examples/${d}`).filter((f) => f.endsWith('.mc')).map((f) => `examples/${d}/${f}`));

  it.each(files)('%s elaborates to a verified, frozen IR', (f) => {
    const g = load(f);
    expect(Object.isFrozen(g)).toBe(true);
    expect(Object.isFrozen(g.ops[0])).toBe(true);
    expect(g.outputs.length).toBeGreaterThan(0);
  });
});
