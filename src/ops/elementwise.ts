// Pointwise ops. Cost table (FLOPs per output element, a rough count of arithmetic, used only for
// the separate `flopsElementwise` figure): add/sub/mul/gate 1, modulate 2 (x*(1+scale)+shift as an
// FMA plus an add), silu 4 (exp, add, div, mul), gelu-tanh 8 (cube, two FMAs, tanh, mul, add;
// the erf and quick forms are counted the same), cast 0 (pure data movement).
import { type Args, type OpDef, type TensorInfo, fail, numelBig, sameDtype, shapeStr, tensorArg } from './types.js';

/** numpy-style broadcast of two shapes, aligned on the right. */
export function broadcast(op: string, a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) fail('MC2003', `${op} cannot broadcast ${shapeStr(a)} with ${shapeStr(b)}`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

function binary(name: string, doc: string): OpDef {
  return {
    name, doc,
    params: [{ name: 'a', type: 'tensor' }, { name: 'b', type: 'tensor' }],
    infer(args: Args) {
      const a = tensorArg(args, 'a');
      const b = tensorArg(args, 'b');
      sameDtype(name, [a, b]);
      return { outputs: [{ shape: broadcast(name, a.shape, b.shape), dtype: a.dtype }] };
    },
    cost: (c) => ({ elementwise: numelBig(c.outputs[0]) }),
  };
}

function unary(name: string, doc: string, perElement: bigint, extra: OpDef['params'] = []): OpDef {
  return {
    name, doc,
    params: [{ name: 'x', type: 'tensor', dtype: 'float' }, ...extra],
    infer(args: Args) {
      const x = tensorArg(args, 'x');
      const attrs: Record<string, string> = {};
      for (const p of extra) attrs[p.name] = args[p.name] as string;
      return { outputs: [x], attrs };
    },
    cost: (c) => ({ elementwise: perElement * numelBig(c.outputs[0]) }),
  };
}

/** x [B, ..., C] with a per-sample vector v [B, C]: the adaLN broadcast over tokens. */
function perSample(op: string, x: TensorInfo, v: TensorInfo, what: string): void {
  const C = x.shape[x.shape.length - 1];
  if (v.shape.length !== 2 || v.shape[0] !== x.shape[0] || v.shape[1] !== C)
    fail('MC2003', `${op}: ${what} must be [${x.shape[0]}, ${C}] to match x ${shapeStr(x.shape)}, got ${shapeStr(v.shape)}`);
}

export const elementwiseOps: OpDef[] = [
  binary('add', 'a + b with numpy broadcasting (also written a + b)'),
  binary('sub', 'a - b with numpy broadcasting (also written a - b)'),
  binary('mul', 'a * b with numpy broadcasting (also written a * b)'),
  unary('silu', 'x * sigmoid(x)', 4n),
  {
    // approx="quick" is CLIP's quick_gelu, x * sigmoid(1.702 x) (the DSL has no scalar multiply).
    ...unary('gelu', 'GELU; approx="tanh" (default), "none" (erf) or "quick" (x * sigmoid(1.702 x), CLIP)', 8n, [{ name: 'approx', type: 'str', default: 'tanh' }]),
    infer(args: Args) {
      const approx = args.approx as string;
      if (approx !== 'tanh' && approx !== 'none' && approx !== 'quick') fail('MC2006', `gelu: approx must be "tanh", "none" or "quick", got "${approx}"`);
      return { outputs: [tensorArg(args, 'x')], attrs: { approx } };
    },
  },
  {
    name: 'modulate', doc: 'adaLN: x * (1 + scale) + shift, shift and scale [B, C] broadcast over tokens',
    params: [{ name: 'x', type: 'tensor', dtype: 'float' }, { name: 'shift', type: 'tensor', dtype: 'float' }, { name: 'scale', type: 'tensor', dtype: 'float' }],
    infer(args) {
      const [x, shift, scale] = [tensorArg(args, 'x'), tensorArg(args, 'shift'), tensorArg(args, 'scale')];
      sameDtype('modulate', [x, shift, scale]);
      perSample('modulate', x, shift, 'shift');
      perSample('modulate', x, scale, 'scale');
      return { outputs: [x] };
    },
    cost: (c) => ({ elementwise: 2n * numelBig(c.outputs[0]) }),
  },
  {
    name: 'gate', doc: 'x * g, the gate g [B, C] broadcast over tokens (not tanh-squashed)',
    params: [{ name: 'x', type: 'tensor', dtype: 'float' }, { name: 'g', type: 'tensor', dtype: 'float' }],
    infer(args) {
      const [x, g] = [tensorArg(args, 'x'), tensorArg(args, 'g')];
      sameDtype('gate', [x, g]);
      perSample('gate', x, g, 'gate');
      return { outputs: [x] };
    },
    cost: (c) => ({ elementwise: numelBig(c.outputs[0]) }),
  },
  {
    name: 'cast', doc: 'converts x to dtype ("bf16", "fp16", "fp32", ...)',
    params: [{ name: 'x', type: 'tensor' }, { name: 'dtype', type: 'str' }],
    infer(args) {
      const x = tensorArg(args, 'x');
      const dtype = args.dtype as string;
      if (!['bf16', 'fp16', 'fp32', 'i32', 'i64', 'bool'].includes(dtype))
        fail('MC2006', `cast: unknown dtype "${dtype}"; use bf16, fp16, fp32, i32, i64 or bool`);
      return { outputs: [{ shape: x.shape, dtype: dtype as TensorInfo['dtype'] }], attrs: { dtype } };
    },
    cost: () => ({}),
  },
];
