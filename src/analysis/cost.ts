// Parameter counts and FLOPs, per op, per layer and in total, as a side table over the IR.
// flopsForward is GEMM + convolution + attention (2 FLOPs per multiply-add, batch as declared);
// elementwise work is reported separately because its per-element costs are estimates.
import { OPS } from '../ops/registry.js';
import type { Cost } from '../ops/types.js';
import { DTYPE_BYTES, type Graph, numel } from '../ir/types.js';

export interface OpCost {
  readonly gemm: number;
  readonly conv: number;
  readonly attention: number;
  readonly elementwise: number;
}

export interface LayerStats {
  readonly name: string;
  readonly kind: string;
  readonly params: number;
  readonly flopsForward: number;
  readonly flopsElementwise: number;
}

export interface ModelStats {
  readonly params: number;
  readonly paramBytes: number;
  readonly flopsForward: number;
  readonly flopsGemm: number;
  readonly flopsConv: number;
  readonly flopsAttention: number;
  readonly flopsElementwise: number;
  readonly layers: readonly LayerStats[];
}

export function opCost(g: Graph, opId: number): OpCost {
  const op = g.ops[opId];
  const c: Cost = OPS.get(op.kind)!.cost({
    inputs: op.inputs.map((t) => g.tensors[t]).filter((t) => t.kind !== 'weight'),
    outputs: op.outputs.map((t) => g.tensors[t]),
    attrs: op.attrs,
  });
  return { gemm: c.gemm ?? 0, conv: c.conv ?? 0, attention: c.attention ?? 0, elementwise: c.elementwise ?? 0 };
}

export function modelStats(g: Graph): ModelStats {
  const costs = g.ops.map((o) => opCost(g, o.id));
  // A weight belongs to the first layer that reads it (a tied weight is counted once).
  const owner = new Map<number, number>();
  for (const op of g.ops) for (const t of op.inputs) if (g.tensors[t].kind === 'weight' && !owner.has(t)) owner.set(t, op.layer);
  const layerParams = new Array<number>(g.layers.length).fill(0);
  for (const [t, l] of owner) layerParams[l] += numel(g.tensors[t].shape);

  const sum = (ops: readonly number[], f: (c: OpCost) => number): number => ops.reduce((s, o) => s + f(costs[o]), 0);
  const forward = (c: OpCost): number => c.gemm + c.conv + c.attention;
  const layers = g.layers.map((l): LayerStats => ({
    name: l.name, kind: l.kind, params: layerParams[l.id],
    flopsForward: sum(l.ops, forward), flopsElementwise: sum(l.ops, (c) => c.elementwise),
  }));
  const all = g.ops.map((o) => o.id);
  const weights = g.tensors.filter((t) => t.kind === 'weight');
  return {
    params: weights.reduce((s, t) => s + numel(t.shape), 0),
    paramBytes: weights.reduce((s, t) => s + numel(t.shape) * DTYPE_BYTES[t.dtype], 0),
    flopsForward: sum(all, forward),
    flopsGemm: sum(all, (c) => c.gemm),
    flopsConv: sum(all, (c) => c.conv),
    flopsAttention: sum(all, (c) => c.attention),
    flopsElementwise: sum(all, (c) => c.elementwise),
    layers,
  };
}
