// GEMMs. linear: y[..., out] = x[..., in] @ W^T + b with W [out, in] (PyTorch layout, so checkpoint
// tensors map one to one). Cost: 2 * rows * in * out FLOPs; the bias add is 1 elementwise FLOP per output.
import type { DType } from '../ir/types.js';
import { type OpDef, dtypeAttr, fail, numelBig, sameDtype, shapeStr, tensorArg } from './types.js';

export const linearOps: OpDef[] = [
  {
    name: 'linear', weighted: true,
    doc: 'y = x @ W^T + b over the last axis; W [out, in]; tied=true reuses an existing weight (tied embeddings)',
    params: [
      { name: 'x', type: 'tensor', dtype: 'float' }, { name: 'out', type: 'int' }, { name: 'bias', type: 'bool', default: true },
      { name: 'tied', type: 'bool', default: false }, { name: 'dtype', type: 'str', default: null },
    ],
    infer(args) {
      const x = tensorArg(args, 'x');
      const out = args.out as number;
      if (out <= 0) fail('MC2009', `linear: out must be positive, got ${out}`);
      if (x.shape.length === 0) fail('MC2003', 'linear: x must have at least one axis');
      const inF = x.shape[x.shape.length - 1];
      // A weight dtype other than x's (HunyuanVideo keeps its final linear in fp32) is autocast.
      const wdtype: DType = args.dtype === null ? x.dtype : dtypeAttr('linear', 'dtype', args.dtype as string, 'float');
      const tied = args.tied as boolean;
      const weights = [{ suffix: 'weight', shape: [out, inF], dtype: wdtype, tied }];
      if (args.bias) weights.push({ suffix: 'bias', shape: [out], dtype: wdtype, tied: false });
      return { outputs: [{ shape: [...x.shape.slice(0, -1), out], dtype: x.dtype }], attrs: { bias: args.bias as boolean }, weights };
    },
    cost(c) {
      const y = numelBig(c.outputs[0]);
      const inF = BigInt(c.inputs[0].shape[c.inputs[0].shape.length - 1]);
      return { gemm: 2n * y * inF, elementwise: c.attrs.bias ? y : 0n };
    },
  },
  {
    name: 'matmul', doc: 'batched a[..., m, k] @ b[..., k, n] with equal batch axes',
    params: [{ name: 'a', type: 'tensor', dtype: 'float' }, { name: 'b', type: 'tensor', dtype: 'float' }],
    infer(args) {
      const [a, b] = [tensorArg(args, 'a'), tensorArg(args, 'b')];
      sameDtype('matmul', [a, b]);
      if (a.shape.length < 2 || a.shape.length !== b.shape.length)
        fail('MC2003', `matmul needs operands of equal rank >= 2, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
      const r = a.shape.length;
      const batchA = a.shape.slice(0, r - 2).join(',');
      if (batchA !== b.shape.slice(0, r - 2).join(',') || a.shape[r - 1] !== b.shape[r - 2])
        fail('MC2003', `matmul cannot multiply ${shapeStr(a.shape)} by ${shapeStr(b.shape)}`);
      return { outputs: [{ shape: [...a.shape.slice(0, r - 1), b.shape[r - 1]], dtype: a.dtype }] };
    },
    cost(c) {
      const a = c.inputs[0].shape;
      return { gemm: 2n * numelBig(c.outputs[0]) * BigInt(a[a.length - 1]) };
    },
  },
];
