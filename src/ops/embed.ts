// Embeddings and reductions. timestep_embedding is the sinusoid [cos(t f_i), sin(t f_i)] with
// f_i = exp(-ln(max_period) * i / (dim/2)), made in fp32 (about 4 FLOPs per output element).
// mean/sum cost 1 FLOP per input element; a mask multiplies first (1 more).
import { type DtypeRule, type OpDef, axisOf, dtypeAttr, fail, numelBig, shapeStr, tensorArg } from './types.js';

function reduction(name: string, doc: string, xDtype: DtypeRule): OpDef {
  return {
    name, doc,
    params: [{ name: 'x', type: 'tensor', dtype: xDtype }, { name: 'axis', type: 'int' }, { name: 'mask', type: 'tensor', default: null, dtype: 'bool' }],
    infer(args) {
      const x = tensorArg(args, 'x');
      const ax = axisOf(args.axis as number, x.shape.length, name);
      const mask = args.mask as { shape: number[] } | null;
      if (mask && (mask.shape.length !== ax + 1 || mask.shape.some((d, i) => d !== x.shape[i])))
        fail('MC2003', `${name}: mask must be ${shapeStr(x.shape.slice(0, ax + 1))}, got ${shapeStr(mask.shape)}`);
      return { outputs: [{ shape: x.shape.filter((_, i) => i !== ax), dtype: x.dtype }], attrs: { axis: ax, masked: mask !== null } };
    },
    cost: (c) => ({ elementwise: (c.attrs.masked ? 2n : 1n) * numelBig(c.inputs[0]) }),
  };
}

export const embedOps: OpDef[] = [
  {
    name: 'embedding', weighted: true, doc: 'table lookup: ids [...] (i32/i64) -> [..., width], W [vocab, width]',
    params: [{ name: 'ids', type: 'tensor', dtype: 'index' }, { name: 'vocab', type: 'int' }, { name: 'width', type: 'int' }, { name: 'dtype', type: 'str', default: 'bf16' }],
    infer(args) {
      const ids = tensorArg(args, 'ids');
      const [vocab, dim] = [args.vocab as number, args.width as number];
      if (vocab <= 0 || dim <= 0) fail('MC2009', `embedding: vocab and dim must be positive`);
      const dtype = dtypeAttr('embedding', 'dtype', args.dtype as string, 'float');
      return { outputs: [{ shape: [...ids.shape, dim], dtype }], weights: [{ suffix: 'weight', shape: [vocab, dim], dtype }] };
    },
    cost: () => ({}),
  },
  {
    name: 'timestep_embedding', doc: 'sinusoidal embedding of t [B] -> fp32 [B, size] as [cos, sin] halves',
    params: [{ name: 't', type: 'tensor', dtype: 'numeric' }, { name: 'size', type: 'int', default: 256 }, { name: 'max_period', type: 'float', default: 10000 }],
    infer(args) {
      const t = tensorArg(args, 't');
      const dim = args.size as number;
      if (t.shape.length !== 1) fail('MC2003', `timestep_embedding: t must be [B], got ${shapeStr(t.shape)}`);
      if (dim <= 0 || dim % 2 !== 0) fail('MC2005', `timestep_embedding dim ${dim}`, 2);
      return { outputs: [{ shape: [t.shape[0], dim], dtype: 'fp32' }], attrs: { dim, max_period: args.max_period as number } };
    },
    cost: (c) => ({ elementwise: 4n * numelBig(c.outputs[0]) }),
  },
  reduction('mean', 'mean over axis; with mask (the leading axes up to axis) averages only where mask is true', 'float'),
  reduction('sum', 'sum over axis; with mask (the leading axes up to axis) sums only where mask is true', 'numeric'),
];
