// Attention and rotary embeddings. Layout is flash-attention's: q [B, Lq, Hq, D], k/v [B, Lk, Hkv, D]
// with Hq % Hkv == 0 (GQA). Cost: QK^T and AV are 2*Lq*Lk*D FLOPs each per head, so 4*Lq*Lk*D*Hq
// dense; causal counts half; frame-causal (a token sees its own and earlier frames of `frame`
// tokens each) counts F(F+1)/2 of F^2 frame pairs. Softmax adds 5 elementwise FLOPs per score
// (max, subtract, exp, sum, scale). Masks and varlen segments are counted dense: the count is an
// upper bound that does not depend on how many text tokens are padding.
import { type OpDef, fail, numelBig, numelOf, productBig, rank, sameDtype, shapeStr, tensorArg } from './types.js';

/**
 * The share of the Lq x Lk scores computed, as [num, den] so the count stays exact. The attention
 * FLOPs 4*D*scores are always whole (frame-causal: F divides Lq); only the causal softmax estimate
 * can end in half a FLOP (B*Hq*L^2 odd), and it is rounded up to stay an upper bound.
 */
function scoreFraction(attrs: Readonly<Record<string, unknown>>, lq: number): [bigint, bigint] {
  if (attrs.causal) return [1n, 2n];
  const frame = attrs.frame as number;
  if (frame > 0) {
    const F = BigInt(lq / frame);
    return [F + 1n, 2n * F];
  }
  return [1n, 1n];
}

export const attentionOps: OpDef[] = [
  {
    name: 'attention',
    doc: 'softmax(q k^T / sqrt(D)) v; causal, key padding mask [B, Lk], varlen segments (i32 offsets), or frame-causal',
    params: [
      { name: 'q', type: 'tensor', dtype: 'float' }, { name: 'k', type: 'tensor', dtype: 'float' }, { name: 'v', type: 'tensor', dtype: 'float' },
      { name: 'causal', type: 'bool', default: false }, { name: 'mask', type: 'tensor', default: null, dtype: 'bool' },
      { name: 'segments', type: 'tensor', default: null }, { name: 'frame', type: 'int', default: 0 },
    ],
    infer(args) {
      const [q, k, v] = [tensorArg(args, 'q'), tensorArg(args, 'k'), tensorArg(args, 'v')];
      for (const [n, t] of [['q', q], ['k', k], ['v', v]] as const) rank('attention', t, n, 4);
      sameDtype('attention', [q, k, v]);
      const [B, Lq, Hq, D] = q.shape;
      if (k.shape.join() !== v.shape.join()) fail('MC2003', `attention: k ${shapeStr(k.shape)} and v ${shapeStr(v.shape)} differ`);
      const [Bk, Lk, Hkv, Dk] = k.shape;
      if (Bk !== B || Dk !== D || Hq % Hkv !== 0)
        fail('MC2003', `attention: q ${shapeStr(q.shape)} does not match k ${shapeStr(k.shape)} (batch, head dim, or heads not a multiple)`);
      const causal = args.causal as boolean;
      const frame = args.frame as number;
      if (causal && Lq !== Lk) fail('MC2003', `attention: causal needs Lq == Lk, got ${Lq} and ${Lk}`);
      if (frame < 0 || (frame > 0 && (Lq % frame !== 0 || Lq !== Lk)))
        fail('MC2003', `attention: frame=${frame} must divide the sequence length ${Lq} (and Lq == Lk)`);
      if (causal && frame > 0) fail('MC2006', 'attention: choose causal or frame, not both');
      const mask = args.mask as { shape: number[]; dtype: string } | null;
      if (mask && (mask.shape.length !== 2 || mask.shape[0] !== B || mask.shape[1] !== Lk))
        fail('MC2003', `attention: mask must be [${B}, ${Lk}], got ${shapeStr(mask.shape)}`);
      const seg = args.segments as { shape: number[]; dtype: string } | null;
      if (seg && (seg.shape.length !== 1 || seg.dtype !== 'i32'))
        fail('MC2003', `attention: segments must be an i32 vector of cumulative offsets, got ${seg.dtype}${shapeStr(seg.shape)}`);
      return { outputs: [q], attrs: { causal, frame, masked: mask !== null, varlen: seg !== null } };
    },
    cost(c) {
      const [B, Lq, Hq, D] = c.inputs[0].shape;
      const [num, den] = scoreFraction(c.attrs, Lq);
      const scaled = productBig([B, Hq, Lq, c.inputs[1].shape[1]]) * num; // den times the scores computed
      return { attention: (4n * BigInt(D) * scaled) / den, elementwise: (5n * scaled + den - 1n) / den };
    },
  },
  {
    name: 'rope',
    doc: 'rotary embedding on x [B, L, H, D]: 1D, or 3D with grid=(T,h,w) and axes=(dt,dh,dw) splitting D; interleaved pairs',
    params: [
      { name: 'x', type: 'tensor', dtype: 'float' }, { name: 'theta', type: 'float', default: 10000 },
      { name: 'grid', type: 'ints', default: null }, { name: 'axes', type: 'ints', default: null },
      { name: 'interleaved', type: 'bool', default: true },
    ],
    infer(args) {
      const x = tensorArg(args, 'x');
      rank('rope', x, 'x', 4);
      const [, L, , D] = x.shape;
      const grid = (args.grid as number[] | null) ?? [L];
      const axes = (args.axes as number[] | null) ?? [D];
      if (grid.length !== axes.length) fail('MC2006', `rope: grid has ${grid.length} axes but axes has ${axes.length}`);
      if (numelOf({ shape: grid, dtype: 'i32' }) !== L) fail('MC2003', `rope: grid ${shapeStr(grid)} has ${numelOf({ shape: grid, dtype: 'i32' })} positions, x has L=${L}`);
      if (axes.reduce((a, b) => a + b, 0) !== D || axes.some((a) => a <= 0 || a % 2 !== 0))
        fail('MC2003', `rope: axes ${shapeStr(axes)} must be even and sum to the head dim ${D}`);
      return { outputs: [x], attrs: { theta: args.theta as number, grid, axes, interleaved: args.interleaved as boolean } };
    },
    // x*cos + rotate(x)*sin: 2 multiplies and an add per element.
    cost: (c) => ({ elementwise: 3n * numelBig(c.outputs[0]) }),
  },
];
