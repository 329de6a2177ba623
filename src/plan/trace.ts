// The request trace of a plan (issue 4, "Into the plans"): every buffer the plan says is on the GPU,
// with its size, its lifetime [start, end) in schedule steps, an alignment, a kind and a layer.
//
// Schedule steps: 0 sets up the iteration; forward op i runs at step 1 + i; backward op i at
// 2N - i (N ops, reverse order); the optimizer step is 2N + 1. A buffer that an op reads or writes is
// live at that op's step (half-open intervals end one step after the last use).
//
// What is live when follows the plan's own accounting (strategies.ts, training.ts, infer.ts):
// - model states (per layer: weights, gradients, optimizer under ZeRO) live the whole iteration;
//   ZeRO-3 gathers a layer's weights for its forward and weights + gradients for its backward;
// - a skeletal tensor the plan keeps lives from its producer's forward to the end of the backward of
//   the (last-run) layer that saves it; one the plan recomputes lives only during that backward;
// - MEMO layers keep their skeletal set in two rounding buffers allocated for the whole iteration
//   (memo.md §2.2); a saved tensor whose forward life fits inside its layer's slot (produced by the
//   layer or the one before it, dead by the end of the layer) is written there and owns no buffer;
// - everything else is an activation (forward) or an activation gradient (backward), live from its
//   producer to its last reader.
// Activations and gradients whose lifetime lies inside one layer's forward (backward) span are that
// layer's transients, the level-1 problems of the bi-level allocator; the rest go to level 2.
import { OPS } from '../ops/registry.js';
import { DTYPE_BYTES, numel } from '../ir/types.js';
import type { Buffer, LayerGroup } from '../alloc/index.js';
import type { Context } from './context.js';
import { selectiveDrops } from './strategies.js';
import type { Strategy } from './types.js';

export type BufferKind = 'weights' | 'gradients' | 'optimizer' | 'skeletal' | 'transient' | 'swap' | 'workspace';

export interface PlanBuffer extends Buffer {
  readonly kind: BufferKind;
  readonly layer: string; // layer name, or '-' for buffers of the whole model
  /** The IR tensor an activation or gradient buffer holds (reports map it to a DSL line). */
  readonly tensor?: number;
}

export interface PlanTrace {
  readonly buffers: readonly PlanBuffer[];
  readonly steps: number;
  /** Level-1 groups (one per layer with transients) and the level-2 requests. */
  readonly groups: readonly LayerGroup[];
  readonly others: readonly PlanBuffer[];
  /** The phase running at each step, for reports ("fwd h.3", "bwd h.0", "optimizer"). */
  readonly phaseAt: (step: number) => string;
}

/**
 * 512 B: PyTorch's allocation granularity. Large rounding and staging buffers (the D2H/H2D copy
 * targets) take 2 MiB pages; below 1 GiB the page padding would cost more than it is worth.
 */
const ALIGN = 512;
const swapAlign = (size: number): number => (size >= 2 ** 30 ? 2 * 1024 * 1024 : ALIGN);

export interface TraceInput {
  readonly ctx: Context;
  readonly mode: 'train' | 'infer';
  readonly strategy?: Strategy; // training
  readonly actions?: readonly string[]; // per layer, training: the plan's LayerRow.action
  readonly swapBufferBytes?: number; // training: both rounding buffers together
  readonly offloadWeights?: boolean; // inference
}

export function buildTrace(inp: TraceInput): PlanTrace {
  const { ctx, mode } = inp;
  const { g, sh, tg } = ctx;
  const N = g.ops.length;
  const train = mode === 'train';
  const T = train ? 2 * N + 2 : N + 2;
  const F = (i: number): number => 1 + i;
  const B = (i: number): number => 2 * N - i;
  const fwd = g.layers.map((l) => [F(l.ops[0]), F(l.ops[l.ops.length - 1]) + 1] as const);
  const bwd = g.layers.map((l) => [B(l.ops[l.ops.length - 1]), B(l.ops[0]) + 1] as const);
  const bytesOf = (t: number): number => Math.ceil((numel(g.tensors[t].shape) * DTYPE_BYTES[g.tensors[t].dtype]) / sh.divisor[t]);
  const out: PlanBuffer[] = [];
  const add = (id: string, size: number, start: number, end: number, kind: BufferKind, layer: string, align = ALIGN, tensor?: number): void => {
    if (size > 0 && end > start) out.push({ id, size: Math.ceil(size), start, end, align, kind, layer, ...(tensor === undefined ? {} : { tensor }) });
  };
  const nameOf = (t: number): string => `${g.tensors[t].name}#${t}`;
  const layerOfTensor = (t: number): string => {
    const p = g.tensors[t].producer;
    return p === undefined ? '-' : g.layers[g.ops[p].layer].name;
  };

  // Last reader of every storage (views and pieces keep their parent alive), as training.ts does.
  const parentOf = new Map<number, readonly number[]>();
  for (const op of g.ops) if (OPS.get(op.kind)?.view && !['reshape', 'transpose', 'patchify', 'concat'].includes(op.kind)) for (const o of op.outputs) parentOf.set(o, tg.rootsOf(op.inputs[0]));
  const lastUse = new Array<number>(g.tensors.length).fill(-1);
  const touch = (t: number, at: number): void => {
    for (const r of [...tg.rootsOf(t), ...(parentOf.get(t) ?? [])]) lastUse[r] = Math.max(lastUse[r], at);
  };
  g.ops.forEach((op, i) => op.inputs.forEach((t) => touch(t, i)));
  // Model outputs stay to the end of the forward (training: the loss gradient then takes their place,
  // as a fused cross-entropy writes it in place, and the plan counts only one of the two) or of the run.
  for (const t of g.outputs) touch(t, N);
  const startOf = (r: number): number => (g.tensors[r].producer === undefined ? 0 : F(g.tensors[r].producer!));
  const fwdEnd = (r: number): number => (lastUse[r] >= N ? (train ? N + 1 : T) : lastUse[r] < 0 ? startOf(r) + 1 : F(lastUse[r]) + 1);

  // Model states and, with ZeRO-3, the per-layer gathered parameters (or, for inference, the weights).
  if (train) {
    const n = ctx.zeroGroup;
    const z = n > 1 ? ctx.par.zero : 0;
    g.layers.forEach((l, li) => {
      const p = ctx.layerParams[li];
      if (p <= 0) return;
      add(`weights:${l.name}#${li}`, (2 * p) / (z >= 3 ? n : 1), 0, T, 'weights', l.name);
      add(`gradients:${l.name}#${li}`, (2 * p) / (z >= 2 ? n : 1), 0, T, 'gradients', l.name);
      add(`optimizer:${l.name}#${li}`, (12 * p) / (z >= 1 ? n : 1), 0, T, 'optimizer', l.name);
      if (z >= 3) {
        add(`gathered:${l.name}#${li}:fwd`, 2 * p, fwd[li][0], fwd[li][1], 'workspace', l.name);
        add(`gathered:${l.name}#${li}:bwd`, 4 * p, bwd[li][0], bwd[li][1], 'workspace', l.name);
      }
    });
    if (inp.strategy === 'memo' && (inp.swapBufferBytes ?? 0) > 0)
      for (const k of [0, 1]) add(`rounding-buffer:${k}`, Math.ceil(inp.swapBufferBytes! / 2), 0, T, 'swap', '-', swapAlign(inp.swapBufferBytes! / 2));
  } else {
    const isBlock = new Set(ctx.blocks);
    const w = new Array<number>(g.layers.length).fill(0);
    const seen = new Set<number>();
    for (const op of g.ops)
      for (const t of op.inputs)
        if (g.tensors[t].kind === 'weight' && !seen.has(t)) { seen.add(t); w[op.layer] += bytesOf(t); }
    g.layers.forEach((l, li) => { if (!(inp.offloadWeights && isBlock.has(li))) add(`weights:${l.name}#${li}`, w[li], 0, T, 'weights', l.name); });
    // Streamed block weights land in two staging buffers, one layer ahead (infer.ts).
    const maxBlock = Math.max(0, ...ctx.blocks.map((l) => w[l]));
    if (inp.offloadWeights) for (const k of [0, 1]) add(`weight-staging:${k}`, maxBlock, 0, T, 'swap', '-', swapAlign(maxBlock));
  }

  // Skeletal tensors: how each layer treats what it saves.
  type Treat = 'keep' | 'recompute' | 'buffer';
  const treat = (li: number, cls: string): Treat => {
    if (!train) return 'keep';
    const a = inp.actions?.[li] ?? 'keep';
    if (a.startsWith('memo')) return 'buffer';
    if (a === 'recompute') return cls === 'input' ? 'keep' : inp.strategy === 'memo' ? 'buffer' : 'recompute';
    return 'keep';
  };
  const savers = new Map<number, Array<{ li: number; how: Treat }>>();
  if (train)
    ctx.mem.forEach((m, li) => {
      const dropped = inp.actions?.[li] === 'selective' ? new Set(selectiveDrops(ctx, li).ops.flatMap((o) => g.ops[o].outputs.flatMap((t) => tg.rootsOf(t)))) : new Set<number>();
      for (const s of m.saved) {
        const how: Treat = dropped.has(s.root) ? 'recompute' : treat(li, s.cls);
        savers.set(s.root, [...(savers.get(s.root) ?? []), { li, how }]);
      }
      // Row statistics (attention log-sum-exp, norm mean/rstd) are one small buffer per layer.
      const how = treat(li, 'other');
      const name = g.layers[li].name;
      if (how === 'keep') add(`stats:${name}#${li}`, m.statsBytes, fwd[li][0], bwd[li][1], 'skeletal', name);
      if (how === 'recompute') add(`stats:${name}#${li}:recomputed`, m.statsBytes, bwd[li][0], bwd[li][1], 'skeletal', name);
    });

  // Forward: every storage an op writes (views own nothing), and the model inputs.
  const roots: number[] = [...g.inputs];
  for (const op of g.ops) if (!OPS.get(op.kind)?.view) for (const t of op.outputs) if (tg.rootsOf(t)[0] === t) roots.push(t);
  // Saved pieces (chunk/split/slice outputs) are copied out of their parent: they own a buffer too.
  const have = new Set(roots);
  for (const r of savers.keys()) if (!have.has(r)) roots.push(r);
  for (const r of roots) {
    const start = startOf(r);
    const end = fwdEnd(r);
    const sv = savers.get(r) ?? [];
    const keep = sv.filter((s) => s.how === 'keep');
    let keptUntil = -1;
    if (keep.length > 0) {
      keptUntil = Math.max(end, ...keep.map((s) => bwd[s.li][1]));
      add(`act:${nameOf(r)}`, bytesOf(r), start, keptUntil, 'skeletal', g.layers[keep[0].li].name, ALIGN, r);
    } else {
      const first = sv.find((s) => s.how === 'buffer');
      const inSlot = first !== undefined && start >= fwd[Math.max(0, first.li - 1)][0] && end <= fwd[first.li][1];
      if (!inSlot) add(`act:${nameOf(r)}`, bytesOf(r), start, end, 'transient', layerOfTensor(r), ALIGN, r);
    }
    for (const s of sv)
      if (s.how === 'recompute' && keptUntil < bwd[s.li][1])
        add(`act:${nameOf(r)}:recomputed@${g.layers[s.li].name}`, bytesOf(r), bwd[s.li][0], bwd[s.li][1], 'skeletal', g.layers[s.li].name, ALIGN, r);
  }

  // Backward: activation gradients, allocated by their first consumer's backward and freed after
  // their producer's backward (training.ts backwardPeak, over the whole model at once).
  if (train) {
    const live = new Map<number, number>();
    for (const t of g.outputs) if (tg.requiresGrad[t]) for (const r of tg.rootsOf(t)) if (!live.has(r)) live.set(r, N + 1);
    for (let i = N - 1; i >= 0; i--) {
      const op = g.ops[i];
      const ins = new Set(op.inputs.filter((t) => g.tensors[t].kind !== 'weight' && tg.requiresGrad[t]).flatMap((t) => tg.rootsOf(t)));
      for (const r of ins) if (!live.has(r)) live.set(r, B(i));
      for (const t of op.outputs)
        for (const r of tg.rootsOf(t))
          if (r === t && !ins.has(r) && live.has(r)) {
            add(`grad:${nameOf(r)}`, bytesOf(r), live.get(r)!, B(i) + 1, 'transient', layerOfTensor(r), ALIGN, r);
            live.delete(r);
          }
    }
    for (const [r, s] of live) add(`grad:${nameOf(r)}`, bytesOf(r), s, T - 1, 'transient', layerOfTensor(r), ALIGN, r);
  }

  // Level 1: transients inside one repeated layer's forward (backward) span.
  const fwdSpans = sortedSpans(fwd);
  const bwdSpans = sortedSpans(bwd);
  const fw = g.layers.map((): PlanBuffer[] => []);
  const bw = g.layers.map((): PlanBuffer[] => []);
  const others: PlanBuffer[] = [];
  // Only the repeated transformer layers form blocks (MEMO: embedding and classifier requests stay
  // individual requests at level 2); a one-off layer gains nothing from a reusable layout and its
  // block would reserve its peak over its whole span.
  const repeated = new Set(ctx.blocks);
  for (const b of out) {
    const li = b.kind === 'transient' ? spanOf(b, fwdSpans) : -1;
    const lb = b.kind === 'transient' && !repeated.has(li) && train ? spanOf(b, bwdSpans) : -1;
    if (repeated.has(li)) fw[li].push(b);
    else if (repeated.has(lb)) bw[lb].push(b);
    else others.push(b);
  }
  const groups: LayerGroup[] = g.layers.map((l, li) => ({ id: `${l.name}#${li}`, forward: fw[li], backward: bw[li] })).filter((x) => x.forward.length + x.backward.length > 0);
  const phaseAt = (s: number): string => {
    if (s <= 0) return 'setup';
    if (s <= N) return `fwd ${g.layers[g.ops[s - 1].layer].name}`;
    if (s <= 2 * N) return `bwd ${g.layers[g.ops[2 * N - s].layer].name}`;
    return train ? 'optimizer' : 'end';
  };
  return { buffers: out, steps: T, groups, others, phaseAt };
}

type Span = readonly [start: number, end: number, layer: number];
const sortedSpans = (spans: ReadonlyArray<readonly [number, number]>): Span[] => spans.map(([s, e], li): Span => [s, e, li]).sort((a, b) => a[0] - b[0]);

/** The layer whose [start, end) span contains the buffer's lifetime, or -1. */
function spanOf(b: Buffer, spans: readonly Span[]): number {
  // Layer spans are disjoint (layers are contiguous runs of ops): a binary search keeps this fast.
  let lo = 0, hi = spans.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [s, e, li] = spans[mid];
    if (b.start < s) hi = mid - 1;
    else if (b.start >= e) lo = mid + 1;
    else return b.end <= e ? li : -1;
  }
  return -1;
}
