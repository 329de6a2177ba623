// Views: ops that re-index memory without arithmetic. They cost nothing; planners treat each
// output as an alias of its input (concat is a view because producers can write into its slices).
import { type OpDef, type TensorInfo, axisOf, fail, numelOf, sameDtype, shapeStr, tensorArg } from './types.js';

const free = (): Record<string, never> => ({});

function withAxis(shape: readonly number[], ax: number, n: number): number[] {
  return shape.map((d, i) => (i === ax ? n : d));
}

export const viewOps: OpDef[] = [
  {
    name: 'concat', view: true, doc: 'joins tensors along axis (default -1); other axes must agree',
    params: [{ name: 'xs', type: 'tensors' }, { name: 'axis', type: 'int', default: -1 }],
    infer(args) {
      const xs = args.xs as TensorInfo[];
      if (xs.length === 0) fail('MC2006', 'concat needs at least one tensor');
      sameDtype('concat', xs);
      const ax = axisOf(args.axis as number, xs[0].shape.length, 'concat');
      for (const t of xs)
        if (t.shape.length !== xs[0].shape.length || t.shape.some((d, i) => i !== ax && d !== xs[0].shape[i]))
          fail('MC2003', `concat along axis ${ax}: ${shapeStr(xs[0].shape)} and ${shapeStr(t.shape)} differ elsewhere`);
      const total = xs.reduce((s, t) => s + t.shape[ax], 0);
      return { outputs: [{ shape: withAxis(xs[0].shape, ax, total), dtype: xs[0].dtype }], attrs: { axis: ax } };
    },
    cost: free,
  },
  {
    name: 'split', view: true, doc: 'splits x along axis into parts of the given sizes (which must sum to the axis)',
    params: [{ name: 'x', type: 'tensor' }, { name: 'sizes', type: 'ints' }, { name: 'axis', type: 'int', default: -1 }],
    infer(args) {
      const x = tensorArg(args, 'x');
      const ax = axisOf(args.axis as number, x.shape.length, 'split');
      const sizes = args.sizes as number[];
      const sum = sizes.reduce((a, b) => a + b, 0);
      if (sum !== x.shape[ax] || sizes.some((s) => s <= 0))
        fail('MC2003', `split: sizes ${shapeStr(sizes)} sum to ${sum}, axis ${ax} of ${shapeStr(x.shape)} is ${x.shape[ax]}`);
      return { outputs: sizes.map((s) => ({ shape: withAxis(x.shape, ax, s), dtype: x.dtype })), attrs: { axis: ax, sizes } };
    },
    cost: free,
  },
  {
    name: 'chunk', view: true, doc: 'splits x along axis into n equal parts',
    params: [{ name: 'x', type: 'tensor' }, { name: 'n', type: 'int' }, { name: 'axis', type: 'int', default: -1 }],
    infer(args) {
      const x = tensorArg(args, 'x');
      const ax = axisOf(args.axis as number, x.shape.length, 'chunk');
      const n = args.n as number;
      if (n <= 0 || x.shape[ax] % n !== 0) fail('MC2005', `chunk: axis ${ax} of ${shapeStr(x.shape)}`, n);
      const part = { shape: withAxis(x.shape, ax, x.shape[ax] / n), dtype: x.dtype };
      return { outputs: Array.from({ length: n }, () => part), attrs: { axis: ax, n } };
    },
    cost: free,
  },
  {
    name: 'reshape', view: true, doc: 'reshapes x; one dim may be -1 (inferred)',
    params: [{ name: 'x', type: 'tensor' }, { name: 'shape', type: 'ints' }],
    infer(args) {
      const x = tensorArg(args, 'x');
      const shape = [...(args.shape as number[])];
      const n = numelOf(x);
      const holes = shape.filter((d) => d === -1).length;
      if (holes > 1 || shape.some((d) => d < -1 || d === 0)) fail('MC2009', `reshape: bad target shape ${shapeStr(shape)}`);
      const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      if (holes === 1) {
        if (n % known !== 0) fail('MC2003', `reshape: cannot view ${shapeStr(x.shape)} as ${shapeStr(shape)}`);
        shape[shape.indexOf(-1)] = n / known;
      }
      if (numelOf({ shape, dtype: x.dtype }) !== n)
        fail('MC2003', `reshape: ${shapeStr(x.shape)} has ${n} elements, ${shapeStr(shape)} has ${numelOf({ shape, dtype: x.dtype })}`);
      return { outputs: [{ shape, dtype: x.dtype }], attrs: { shape } };
    },
    cost: free,
  },
  {
    name: 'transpose', view: true, doc: 'swaps two axes',
    params: [{ name: 'x', type: 'tensor' }, { name: 'a', type: 'int' }, { name: 'b', type: 'int' }],
    infer(args) {
      const x = tensorArg(args, 'x');
      const a = axisOf(args.a as number, x.shape.length, 'transpose');
      const b = axisOf(args.b as number, x.shape.length, 'transpose');
      const perm = x.shape.map((_, i) => (i === a ? b : i === b ? a : i));
      return { outputs: [{ shape: perm.map((p) => x.shape[p]), dtype: x.dtype }], attrs: { perm } };
    },
    cost: free,
  },
  {
    name: 'slice', view: true, doc: 'x[start:end] along axis',
    params: [{ name: 'x', type: 'tensor' }, { name: 'axis', type: 'int' }, { name: 'start', type: 'int' }, { name: 'end', type: 'int' }],
    infer(args) {
      const x = tensorArg(args, 'x');
      const ax = axisOf(args.axis as number, x.shape.length, 'slice');
      const [s, e] = [args.start as number, args.end as number];
      if (s < 0 || e > x.shape[ax] || s >= e) fail('MC2003', `slice: [${s}:${e}] is not inside axis ${ax} of ${shapeStr(x.shape)}`);
      return { outputs: [{ shape: withAxis(x.shape, ax, e - s), dtype: x.dtype }], attrs: { axis: ax, start: s, end: e } };
    },
    cost: free,
  },
  {
    name: 'patchify', view: true,
    doc: 'x [B, C, T, H, W] -> tokens [B, (T/pt)(H/ph)(W/pw), C*pt*ph*pw], token order t, h, w; features (c, pt, ph, pw)',
    params: [{ name: 'x', type: 'tensor' }, { name: 'patch', type: 'ints', default: [1, 1, 1] }],
    infer(args) {
      const x = tensorArg(args, 'x');
      const p = args.patch as number[];
      if (x.shape.length !== 5 || p.length !== 3) fail('MC2003', `patchify: x must be [B, C, T, H, W] and patch 3 ints, got ${shapeStr(x.shape)}`);
      const [B, C, T, H, W] = x.shape;
      [T, H, W].forEach((d, i) => { if (p[i] <= 0 || d % p[i] !== 0) fail('MC2005', `patchify: axis ${i + 2} size ${d}`, p[i]); });
      const L = (T / p[0]) * (H / p[1]) * (W / p[2]);
      return { outputs: [{ shape: [B, L, C * p[0] * p[1] * p[2]], dtype: x.dtype }], attrs: { patch: p } };
    },
    cost: free,
  },
  {
    name: 'unpatchify', view: false,
    doc: 'tokens [B, T*h*w, C*pt*ph*pw] -> [B, C, T*pt, h*ph, w*pw]; grid=(T, h, w), features (c, pt, ph, pw)',
    params: [{ name: 'x', type: 'tensor' }, { name: 'grid', type: 'ints' }, { name: 'patch', type: 'ints' }, { name: 'channels', type: 'int' }],
    infer(args) {
      const x = tensorArg(args, 'x');
      const [g, p, C] = [args.grid as number[], args.patch as number[], args.channels as number];
      if (x.shape.length !== 3 || g.length !== 3 || p.length !== 3) fail('MC2003', `unpatchify: x must be [B, L, F], grid and patch 3 ints`);
      const [B, L, F] = x.shape;
      if (g[0] * g[1] * g[2] !== L || C * p[0] * p[1] * p[2] !== F)
        fail('MC2003', `unpatchify: ${shapeStr(x.shape)} is not grid ${shapeStr(g)} x patch ${shapeStr(p)} x ${C} channels`);
      return { outputs: [{ shape: [B, C, g[0] * p[0], g[1] * p[1], g[2] * p[2]], dtype: x.dtype }], attrs: { grid: g, patch: p } };
    },
    // A real permutation (the einsum nthwcopq->nctohpwq) that materializes: data movement, no FLOPs.
    cost: free,
  },
];
