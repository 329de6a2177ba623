// The training graph, derived from the forward IR by per-op rules: which tensors each op saves for
// its backward, and MEMO's split of activations into skeletal (made in forward, needed in
// backward) and transient (live only inside one layer's forward or backward pass).
//
// Storage: views do not own memory. reshape/transpose/patchify alias their input; concat aliases
// all its inputs (producers write into its slices); chunk/split/slice outputs are pieces of their
// input. A saved piece counts only its own size, because a swap/recompute runtime copies skeletal
// tensors into its own buffers (MEMO's rounding buffers), so the rest of the parent can die.
import { OPS } from '../ops/registry.js';
import { DTYPE_BYTES, type Graph, type Op, numel } from '../ir/types.js';
import type { Shards } from './shard.js';

/** Positions (among an op's activation inputs) that its backward needs, and whether it needs its output. */
interface SaveRule { readonly inputs: readonly number[]; readonly output?: boolean; readonly statsPerRow?: number }

// Backward needs (standard autograd formulas): y = xW needs x for dW; FlashAttention keeps q, k,
// v, o and the fp32 log-sum-exp per row (memo.md §1.3); norms keep their input and fp32 row
// statistics (mean/rstd); pointwise nonlinearities keep their input; products keep both factors.
// Sums, views, casts, RoPE (linear in x with constant tables) and unpatchify keep nothing.
const SAVES: Readonly<Record<string, SaveRule>> = {
  linear: { inputs: [0] },
  matmul: { inputs: [0, 1] },
  conv3d: { inputs: [0] },
  attention: { inputs: [0, 1, 2], output: true, statsPerRow: 1 },
  layernorm: { inputs: [0], statsPerRow: 2 },
  rmsnorm: { inputs: [0], statsPerRow: 1 },
  groupnorm: { inputs: [0] },
  gelu: { inputs: [0] },
  silu: { inputs: [0] },
  mul: { inputs: [0, 1] },
  modulate: { inputs: [0, 2] }, // x (for d scale) and scale (for dx)
  gate: { inputs: [0, 1] },
  embedding: { inputs: [0] },
};

export type SavedClass = 'input' | 'attn' | 'other';

export interface SavedRoot {
  readonly root: number; // tensor id owning the storage
  readonly bytes: number; // per GPU
  readonly elements: number; // unsharded element count
  readonly cls: SavedClass;
  /** The op producing it (undefined for model inputs). */
  readonly producer?: number;
}

export interface LayerMemory {
  readonly saved: readonly SavedRoot[];
  readonly statsBytes: number; // fp32 row statistics (attention LSE, norm mean/rstd), per GPU
  readonly skeletalBytes: number; // saved + stats
  readonly inputBytes: number; // MEMO S_input
  readonly attnBytes: number; // MEMO S_attn
  readonly otherBytes: number; // MEMO S_others (+ stats)
  readonly fwdTransientPeak: number;
  readonly bwdTransientPeak: number;
}

export interface TrainingGraph {
  readonly rootsOf: (t: number) => readonly number[];
  readonly layers: readonly LayerMemory[];
  /** Every storage root saved by some op (global skeletal set). */
  readonly savedRoots: ReadonlySet<number>;
  readonly requiresGrad: readonly boolean[];
}

const FULL_ALIAS = new Set(['reshape', 'transpose', 'patchify']);
const PIECE = new Set(['chunk', 'split', 'slice']);

function storage(g: Graph): { rootsOf: (t: number) => readonly number[]; parentOf: Map<number, readonly number[]> } {
  const memo = new Map<number, readonly number[]>();
  const parentOf = new Map<number, readonly number[]>();
  const rootsOf = (t: number): readonly number[] => {
    const hit = memo.get(t);
    if (hit) return hit;
    const p = g.tensors[t].producer;
    let r: readonly number[] = [t];
    if (p !== undefined) {
      const op = g.ops[p];
      if (FULL_ALIAS.has(op.kind)) r = rootsOf(op.inputs[0]);
      else if (op.kind === 'concat') r = op.inputs.flatMap((i) => rootsOf(i));
      else if (PIECE.has(op.kind)) parentOf.set(t, rootsOf(op.inputs[0]));
    }
    memo.set(t, r);
    return r;
  };
  // Ops come in program order, so inputs are resolved before outputs (no deep recursion).
  for (const op of g.ops) for (const o of op.outputs) rootsOf(o);
  for (const t of g.inputs) rootsOf(t);
  return { rootsOf, parentOf };
}

const acts = (g: Graph, op: Op): number[] => op.inputs.filter((t) => g.tensors[t].kind !== 'weight');

export function buildTrainingGraph(g: Graph, sh: Shards): TrainingGraph {
  const { rootsOf, parentOf } = storage(g);
  const bytesOf = (t: number): number => (numel(g.tensors[t].shape) * DTYPE_BYTES[g.tensors[t].dtype]) / sh.divisor[t];

  // requiresGrad: weights do; model inputs and integer tensors do not; ops propagate.
  const requiresGrad = g.tensors.map((t) => t.kind === 'weight');
  for (const op of g.ops) {
    const any = op.inputs.some((t) => requiresGrad[t]);
    for (const o of op.outputs) requiresGrad[o] = any && !['i32', 'i64', 'bool'].includes(g.tensors[o].dtype);
  }

  // Saved roots per layer, and the row statistics.
  const perLayer = g.layers.map(() => new Map<number, SavedRoot>());
  const stats = new Array<number>(g.layers.length).fill(0);
  const savedRoots = new Set<number>();
  for (const op of g.ops) {
    const rule = SAVES[op.kind];
    if (!rule) continue;
    const a = acts(g, op);
    const ts = rule.inputs.map((i) => a[i]).filter((t) => t !== undefined);
    if (rule.output) ts.push(...op.outputs);
    if (rule.statsPerRow) {
      const out = g.tensors[op.outputs[0]];
      const rows = numel(out.shape) / (op.kind === 'attention' ? out.shape[3] : out.shape[out.shape.length - 1]);
      stats[op.layer] += (rows * rule.statsPerRow * 4) / sh.divisor[op.outputs[0]];
    }
    for (const t of ts) {
      for (const r of rootsOf(t)) {
        if (perLayer[op.layer].has(r)) continue;
        const producer = g.tensors[r].producer;
        const inside = producer !== undefined && g.ops[producer].layer === op.layer;
        const cls: SavedClass = !inside ? 'input' : g.ops[producer].kind === 'attention' ? 'attn' : 'other';
        perLayer[op.layer].set(r, { root: r, bytes: bytesOf(r), elements: numel(g.tensors[r].shape), cls, producer });
        savedRoots.add(r);
      }
    }
  }
  // A saved piece is subsumed when its whole parent is saved too.
  for (const m of perLayer)
    for (const r of [...m.keys()]) {
      const parents = parentOf.get(r);
      if (parents && parents.every((p) => m.has(p))) m.delete(r);
    }

  // Last use of every root (any alias or piece of it), by op index.
  const lastUse = new Array<number>(g.tensors.length).fill(-1);
  const touch = (t: number, at: number): void => {
    for (const r of rootsOf(t)) lastUse[r] = Math.max(lastUse[r], at);
    for (const r of parentOf.get(t) ?? []) lastUse[r] = Math.max(lastUse[r], at);
  };
  g.ops.forEach((op, i) => op.inputs.forEach((t) => touch(t, i)));
  for (const t of g.outputs) touch(t, g.ops.length);

  const opIndex = new Map<number, number>(g.ops.map((o, i) => [o.id, i]));
  // Tensors a layer hands on: read by a later layer, or a model output.
  const handedOn = new Array<boolean>(g.tensors.length).fill(false);
  for (const op of g.ops) for (const t of op.inputs) { const p = g.tensors[t].producer; if (p !== undefined && g.ops[p].layer < op.layer) handedOn[t] = true; }
  for (const t of g.outputs) handedOn[t] = true;
  const layers = g.layers.map((l, li): LayerMemory => {
    const saved = [...perLayer[li].values()];
    const sum = (c: SavedClass): number => saved.filter((s) => s.cls === c).reduce((a, s) => a + s.bytes, 0);
    const inputBytes = sum('input');
    const attnBytes = sum('attn');
    const otherBytes = sum('other') + stats[li];
    return {
      saved, statsBytes: stats[li], skeletalBytes: inputBytes + attnBytes + otherBytes, inputBytes, attnBytes, otherBytes,
      fwdTransientPeak: forwardPeak(g, l.ops, rootsOf, savedRoots, lastUse, opIndex, bytesOf),
      bwdTransientPeak: backwardPeak(g, l.ops, rootsOf, requiresGrad, handedOn, bytesOf),
    };
  });
  return { rootsOf, layers, savedRoots, requiresGrad };
}

/** Peak of the layer's own non-skeletal storages while its forward runs (skeletal ones live in the skeletal pool). */
function forwardPeak(
  g: Graph, ops: readonly number[], rootsOf: (t: number) => readonly number[], saved: ReadonlySet<number>,
  lastUse: readonly number[], opIndex: ReadonlyMap<number, number>, bytesOf: (t: number) => number,
): number {
  const live = new Map<number, number>();
  let cur = 0;
  let peak = 0;
  const end = Math.max(...ops.map((o) => opIndex.get(o)!));
  for (const o of ops) {
    const op = g.ops[o];
    if (OPS.get(op.kind)?.view) continue;
    for (const t of op.outputs)
      for (const r of rootsOf(t))
        if (r === t && !saved.has(r) && !live.has(r)) { live.set(r, bytesOf(r)); cur += bytesOf(r); }
    peak = Math.max(peak, cur);
    const at = opIndex.get(o)!;
    for (const [r, b] of live) {
      // Dies at its last use inside this layer; storages used by later layers leave with the layer.
      const lu = lastUse[r];
      if (lu <= at || (lu > end && at === end)) { live.delete(r); cur -= b; }
    }
  }
  return peak;
}

/** Peak of gradient storages while the layer's backward runs (reverse op order). */
function backwardPeak(
  g: Graph, ops: readonly number[], rootsOf: (t: number) => readonly number[],
  requiresGrad: readonly boolean[], handedOn: readonly boolean[], bytesOf: (t: number) => number,
): number {
  const live = new Map<number, number>();
  let cur = 0;
  const add = (r: number): void => { if (!live.has(r)) { live.set(r, bytesOf(r)); cur += bytesOf(r); } };
  // Gradients of what the layer hands on arrive from the next layer (or the loss).
  for (const o of ops)
    for (const t of g.ops[o].outputs)
      if (requiresGrad[t] && handedOn[t]) for (const r of rootsOf(t)) add(r);
  let peak = cur;
  for (const o of [...ops].reverse()) {
    const op = g.ops[o];
    const ins = new Set(acts(g, op).filter((t) => requiresGrad[t]).flatMap((t) => rootsOf(t)));
    for (const r of ins) add(r);
    peak = Math.max(peak, cur);
    for (const t of op.outputs)
      for (const r of rootsOf(t))
        if (r === t && !ins.has(r) && live.has(r)) { cur -= live.get(r)!; live.delete(r); }
  }
  return peak;
}
