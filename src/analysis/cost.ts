// Parameter counts and FLOPs, per op, per layer and in total, as a side table over the IR.
// flopsForward is GEMM + convolution + attention (2 FLOPs per multiply-add, batch as declared);
// elementwise work is reported separately because its per-element costs are estimates.
// Counts are exact integers (bigint): long sequences pass 2^53 per op, and `mc inspect` promises
// exact figures. Planners and codegen use the number view (`opCost`, `modelStats`), rounded once
// from the exact value, so the per-op formulas live only in the op table.
import { OPS } from '../ops/registry.js';
import { DTYPE_BYTES, type Graph } from '../ir/types.js';
import { productBig } from '../ops/types.js';

export interface OpCost<N extends number | bigint = number> {
  readonly gemm: N;
  readonly conv: N;
  readonly attention: N;
  readonly elementwise: N;
}

export interface LayerStats<N extends number | bigint = number> {
  readonly name: string;
  readonly kind: string;
  readonly params: N;
  readonly flopsForward: N;
  readonly flopsElementwise: N;
}

export interface ModelStats<N extends number | bigint = number> {
  readonly params: N;
  readonly paramBytes: N;
  readonly flopsForward: N;
  readonly flopsGemm: N;
  readonly flopsConv: N;
  readonly flopsAttention: N;
  readonly flopsElementwise: N;
  readonly layers: readonly LayerStats<N>[];
}

type NumberView<T> = { readonly [K in keyof T]: T[K] extends bigint ? number : T[K] };

/** The same record with every bigint field rounded to the nearest number (key order kept). */
function numberView<T extends object>(o: T): NumberView<T> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])) as NumberView<T>;
}

export function exactOpCost(g: Graph, opId: number): OpCost<bigint> {
  const op = g.ops[opId];
  const c = OPS.get(op.kind)!.cost({
    inputs: op.inputs.map((t) => g.tensors[t]).filter((t) => t.kind !== 'weight'),
    outputs: op.outputs.map((t) => g.tensors[t]),
    attrs: op.attrs,
  });
  return { gemm: c.gemm ?? 0n, conv: c.conv ?? 0n, attention: c.attention ?? 0n, elementwise: c.elementwise ?? 0n };
}

/** The number view of one op's FLOPs, for time estimates (within 1 ulp of the exact count). */
export function opCost(g: Graph, opId: number): OpCost {
  return numberView(exactOpCost(g, opId));
}

export function exactModelStats(g: Graph): ModelStats<bigint> {
  const costs = g.ops.map((o) => exactOpCost(g, o.id));
  // A weight belongs to the first layer that reads it (a tied weight is counted once).
  const owner = new Map<number, number>();
  for (const op of g.ops) for (const t of op.inputs) if (g.tensors[t].kind === 'weight' && !owner.has(t)) owner.set(t, op.layer);
  const layerParams = new Array<bigint>(g.layers.length).fill(0n);
  for (const [t, l] of owner) layerParams[l] += productBig(g.tensors[t].shape);

  const sum = (ops: readonly number[], f: (c: OpCost<bigint>) => bigint): bigint => ops.reduce((s, o) => s + f(costs[o]), 0n);
  const forward = (c: OpCost<bigint>): bigint => c.gemm + c.conv + c.attention;
  const layers = g.layers.map((l): LayerStats<bigint> => ({
    name: l.name, kind: l.kind, params: layerParams[l.id],
    flopsForward: sum(l.ops, forward), flopsElementwise: sum(l.ops, (c) => c.elementwise),
  }));
  const all = g.ops.map((o) => o.id);
  const weights = g.tensors.filter((t) => t.kind === 'weight');
  return {
    params: weights.reduce((s, t) => s + productBig(t.shape), 0n),
    paramBytes: weights.reduce((s, t) => s + productBig(t.shape) * BigInt(DTYPE_BYTES[t.dtype]), 0n),
    flopsForward: sum(all, forward),
    flopsGemm: sum(all, (c) => c.gemm),
    flopsConv: sum(all, (c) => c.conv),
    flopsAttention: sum(all, (c) => c.attention),
    flopsElementwise: sum(all, (c) => c.elementwise),
    layers,
  };
}

/** The number view of exact stats: each figure rounded once, after exact summation. */
export function statsAsNumbers(s: ModelStats<bigint>): ModelStats {
  return { ...numberView(s), layers: s.layers.map(numberView) };
}

export function modelStats(g: Graph): ModelStats {
  return statsAsNumbers(exactModelStats(g));
}
