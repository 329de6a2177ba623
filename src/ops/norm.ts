// Normalizations. Cost per element: layernorm/groupnorm 5 (sum, sum of squares, subtract mean,
// multiply by rstd) + 2 with affine; rmsnorm 3 (square-sum, multiply by rstd) + 1 with weight.
// RMSNorm computes in fp32 and casts back, so its output dtype is its input dtype.
import { type OpDef, fail, numelBig, shapeStr, tensorArg } from './types.js';

export const normOps: OpDef[] = [
  {
    name: 'layernorm', weighted: true, doc: 'LayerNorm over the last axis; affine=false has no weights',
    params: [{ name: 'x', type: 'tensor', dtype: 'float' }, { name: 'affine', type: 'bool', default: true }, { name: 'eps', type: 'float', default: 1e-5 }],
    infer(args) {
      const x = tensorArg(args, 'x');
      const C = x.shape[x.shape.length - 1];
      const affine = args.affine as boolean;
      const weights = affine ? [{ suffix: 'weight', shape: [C], dtype: x.dtype }, { suffix: 'bias', shape: [C], dtype: x.dtype }] : [];
      return { outputs: [x], attrs: { affine, eps: args.eps as number }, weights };
    },
    cost: (c) => ({ elementwise: (c.attrs.affine ? 7n : 5n) * numelBig(c.outputs[0]) }),
  },
  {
    name: 'rmsnorm', weighted: true, doc: 'RMSNorm over the last axis with a learned weight, fp32 math',
    params: [{ name: 'x', type: 'tensor', dtype: 'float' }, { name: 'eps', type: 'float', default: 1e-6 }],
    infer(args) {
      const x = tensorArg(args, 'x');
      const C = x.shape[x.shape.length - 1];
      return { outputs: [x], attrs: { eps: args.eps as number }, weights: [{ suffix: 'weight', shape: [C], dtype: x.dtype }] };
    },
    cost: (c) => ({ elementwise: 4n * numelBig(c.outputs[0]) }),
  },
  {
    name: 'groupnorm', weighted: true, doc: 'GroupNorm over channel axis 1 of [B, C, ...] in `groups` groups',
    params: [
      { name: 'x', type: 'tensor', dtype: 'float' }, { name: 'groups', type: 'int', default: 32 },
      { name: 'affine', type: 'bool', default: true }, { name: 'eps', type: 'float', default: 1e-6 },
    ],
    infer(args) {
      const x = tensorArg(args, 'x');
      const groups = args.groups as number;
      if (x.shape.length < 3) fail('MC2003', `groupnorm: x must be [B, C, ...], got ${shapeStr(x.shape)}`);
      const C = x.shape[1];
      if (groups <= 0 || C % groups !== 0) fail('MC2005', `groupnorm channels ${C}`, groups);
      const affine = args.affine as boolean;
      const weights = affine ? [{ suffix: 'weight', shape: [C], dtype: x.dtype }, { suffix: 'bias', shape: [C], dtype: x.dtype }] : [];
      return { outputs: [x], attrs: { groups, affine, eps: args.eps as number }, weights };
    },
    cost: (c) => ({ elementwise: (c.attrs.affine ? 7n : 5n) * numelBig(c.outputs[0]) }),
  },
];
