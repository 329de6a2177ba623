// 3D convolution and upsampling on [B, C, T, H, W]. Causal conv (the HunyuanVideo VAE's
// CausalConv3d) pads time by k-1 frames in front and space by k//2 each side, replicating edge
// values, then convolves unpadded: out = floor((in + pad - k) / stride) + 1. Cost: 2 FLOPs per
// multiply-add, 2 * Cout * Cin * kt*kh*kw per output position; the bias add is elementwise.
import { type OpDef, fail, numelBig, productBig, rank, shapeStr, tensorArg } from './types.js';

function triple(op: string, what: string, v: readonly number[]): number[] {
  if (v.length === 1) return [v[0], v[0], v[0]];
  if (v.length !== 3) fail('MC2006', `${op}: ${what} must be one int or three (t, h, w), got ${shapeStr(v)}`);
  return [...v];
}

export const convOps: OpDef[] = [
  {
    name: 'conv3d', weighted: true,
    doc: 'Conv3d, W [out, in, kt, kh, kw]; causal=true pads time in front and space symmetrically by replication',
    params: [
      { name: 'x', type: 'tensor', dtype: 'float' }, { name: 'out', type: 'int' }, { name: 'kernel', type: 'ints', default: [3] },
      { name: 'stride', type: 'ints', default: [1] }, { name: 'causal', type: 'bool', default: true },
      { name: 'padding', type: 'ints', default: [0] }, { name: 'bias', type: 'bool', default: true },
    ],
    infer(args) {
      const x = tensorArg(args, 'x');
      rank('conv3d', x, 'x', 5);
      const k = triple('conv3d', 'kernel', args.kernel as number[]);
      const s = triple('conv3d', 'stride', args.stride as number[]);
      const causal = args.causal as boolean;
      // Total padding per axis: causal puts k-1 in front of time and k//2 on each side of space.
      const pad = causal ? [k[0] - 1, 2 * Math.floor(k[1] / 2), 2 * Math.floor(k[2] / 2)]
        : triple('conv3d', 'padding', args.padding as number[]).map((p) => 2 * p);
      if ([...k, ...s].some((v) => v <= 0)) fail('MC2009', 'conv3d: kernel and stride must be positive');
      const [B, Cin, ...sp] = x.shape;
      const outSp = sp.map((d, i) => Math.floor((d + pad[i] - k[i]) / s[i]) + 1);
      if (outSp.some((d) => d <= 0)) fail('MC2003', `conv3d: input ${shapeStr(x.shape)} is smaller than kernel ${shapeStr(k)}`);
      const out = args.out as number;
      if (out <= 0) fail('MC2009', `conv3d: out must be positive, got ${out}`);
      const weights = [{ suffix: 'weight', shape: [out, Cin, ...k], dtype: x.dtype }];
      if (args.bias) weights.push({ suffix: 'bias', shape: [out], dtype: x.dtype });
      return { outputs: [{ shape: [B, out, ...outSp], dtype: x.dtype }], attrs: { kernel: k, stride: s, pad, causal, bias: args.bias as boolean }, weights };
    },
    cost(c) {
      const y = numelBig(c.outputs[0]);
      const macs = productBig([c.inputs[0].shape[1], ...(c.attrs.kernel as number[])]); // per output: Cin*kt*kh*kw
      return { conv: 2n * y * macs, elementwise: c.attrs.bias ? y : 0n };
    },
  },
  {
    name: 'upsample',
    doc: 'nearest upsample of [B, C, T, H, W] by factor (t, h, w); causal=true keeps frame 0 single: T -> 1 + ft*(T-1)',
    params: [{ name: 'x', type: 'tensor' }, { name: 'factor', type: 'ints' }, { name: 'causal', type: 'bool', default: true }],
    infer(args) {
      const x = tensorArg(args, 'x');
      rank('upsample', x, 'x', 5);
      const f = triple('upsample', 'factor', args.factor as number[]);
      if (f.some((v) => v <= 0)) fail('MC2009', 'upsample: factors must be positive');
      const [B, C, T, H, W] = x.shape;
      const causal = args.causal as boolean;
      const Tout = causal ? 1 + f[0] * (T - 1) : T * f[0];
      return { outputs: [{ shape: [B, C, Tout, H * f[1], W * f[2]], dtype: x.dtype }], attrs: { factor: f, causal } };
    },
    cost: () => ({}),
  },
];
