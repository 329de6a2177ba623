// Inference (one denoising step / one forward): no gradients, no optimizer, no skeletal set; only
// transient activations, found by a liveness walk over the whole graph (a storage dies after its
// last reader; model outputs live to the end). Weights are resident, or with --offload-weights
// the repeated blocks stream from pinned host memory one layer ahead into two GPU buffers, and a
// copy longer than the previous layer's compute is exposed. CFG doubling is done by the caller,
// which re-elaborates the spec with twice the batch.
import { OPS } from '../ops/registry.js';
import { DTYPE_BYTES, type Graph, numel } from '../ir/types.js';
import type { HardwareProfile } from '../hw/profile.js';
import { type Context, buildContext } from './context.js';
import { checkDivisibility } from './shard.js';
import { gpusOf, tokensOf } from './plan.js';
import type { Breakdown, LayerRow, Parallel, StreamEntry } from './types.js';

export interface InferencePlan {
  readonly mode: 'infer';
  readonly hardware: string;
  readonly gpus: number;
  readonly parallel: Parallel;
  readonly capacityBytes: number;
  readonly fits: boolean;
  readonly offloadWeights: boolean;
  readonly peakBytes: number;
  /** Pinned host memory of one node: the streamed block weights of each of its GPUs. */
  readonly cpuBytesPerNode: number;
  readonly cpuFits: boolean;
  readonly breakdown: Breakdown;
  readonly stepTimeSec: number;
  readonly exposedCopySec: number;
  readonly modelFlops: number;
  readonly mfu: number;
  readonly mfuFullSquare: number;
  readonly tokens: number;
  readonly tokensPerSec: number;
  readonly layers: readonly LayerRow[];
  readonly schedule: Readonly<Record<string, readonly StreamEntry[]>>;
  readonly params: number;
  /** What the plan was computed from (the memory trace, src/plan/trace.ts, is built from it). */
  readonly ctx: Context;
}

export function planInference(g: Graph, hw: HardwareProfile, par: Parallel, offloadWeights: boolean): InferencePlan | { error: string } {
  const bad = checkDivisibility(g, par);
  if (bad) return { error: bad };
  const ctx = buildContext(g, hw, { ...par, zero: 0 });
  const { sh, tg, layerTime } = ctx;
  const bytesOf = (t: number): number => (numel(g.tensors[t].shape) * DTYPE_BYTES[g.tensors[t].dtype]) / sh.divisor[t];

  // Weights per layer (first reader owns a tied weight), per GPU after tensor parallelism.
  const layerWeights = new Array<number>(g.layers.length).fill(0);
  const seen = new Set<number>();
  for (const op of g.ops)
    for (const t of op.inputs)
      if (g.tensors[t].kind === 'weight' && !seen.has(t)) { seen.add(t); layerWeights[op.layer] += bytesOf(t); }
  const isBlock = new Set(ctx.blocks);
  const blockWeights = ctx.blocks.reduce((s, l) => s + layerWeights[l], 0);
  const allWeights = layerWeights.reduce((s, b) => s + b, 0);
  const maxBlock = Math.max(0, ...ctx.blocks.map((l) => layerWeights[l]));

  // Activation liveness over the whole forward.
  // A chunk/split/slice piece is a view: reading it keeps its parent's storage alive.
  const pieceOf = new Map<number, readonly number[]>();
  for (const op of g.ops) if (['chunk', 'split', 'slice'].includes(op.kind)) for (const o of op.outputs) pieceOf.set(o, tg.rootsOf(op.inputs[0]));
  const last = new Array<number>(g.tensors.length).fill(-1);
  g.ops.forEach((op, i) => op.inputs.forEach((t) => { for (const r of [...tg.rootsOf(t), ...(pieceOf.get(t) ?? [])]) last[r] = Math.max(last[r], i); }));
  for (const t of g.outputs) for (const r of tg.rootsOf(t)) last[r] = g.ops.length;
  const live = new Map<number, number>();
  for (const t of g.inputs) live.set(t, bytesOf(t));
  let cur = [...live.values()].reduce((s, b) => s + b, 0);
  let peak = cur;
  g.ops.forEach((op, i) => {
    if (!OPS.get(op.kind)?.view)
      for (const t of op.outputs) if (tg.rootsOf(t)[0] === t && !live.has(t)) { live.set(t, bytesOf(t)); cur += bytesOf(t); }
    peak = Math.max(peak, cur);
    for (const [r, b] of live) if (last[r] <= i) { live.delete(r); cur -= b; }
  });

  // Weight streaming: copy of block i overlaps the compute of the layer before it.
  const gpn = Math.min(gpusOf(par), hw.node.gpusPerNode);
  const h2d = gpn > 1 ? hw.pcie.allGpusBytesPerSec : hw.pcie.oneGpuBytesPerSec;
  const compute: StreamEntry[] = [];
  const copies: StreamEntry[] = [];
  const exposed = new Array<number>(g.layers.length).fill(0);
  let t = 0, copyFree = 0, prevStart = 0;
  for (const l of g.layers) {
    if (offloadWeights && isBlock.has(l.id)) {
      const s = Math.max(copyFree, prevStart);
      copyFree = s + layerWeights[l.id] / h2d;
      copies.push([`weights ${l.name}`, s, copyFree]);
      if (copyFree > t) { exposed[l.id] = copyFree - t; t = copyFree; }
    }
    prevStart = t;
    compute.push([`fwd ${l.name}`, t, t + layerTime[l.id].fwd]);
    t += layerTime[l.id].fwd;
  }
  const breakdown: Breakdown = {
    weights: offloadWeights ? allWeights - blockWeights : allWeights, gradients: 0, optimizer: 0, skeletal: 0,
    transient: peak, swapBuffers: offloadWeights ? 2 * maxBlock : 0, workspace: 0,
  };
  const peakBytes = Object.values(breakdown).reduce((s, b) => s + b, 0);
  const capacityBytes = hw.gpu.memoryBytes - (hw.gpu.reservedBytes ?? 0);
  // Each GPU streams its own shard of the block weights, so a node pins one copy per GPU (the
  // training plans count host copies the same way).
  const cpuBytesPerNode = offloadWeights ? blockWeights * gpn : 0;
  const cpuFits = cpuBytesPerNode <= hw.node.cpuMemoryBytes;
  const fwdFlops = ctx.ops.reduce((s, o) => s + o.fwdFlops, 0);
  const fullSquare = ctx.ops.reduce((s, o) => s + o.fullSquareFwd, 0);
  const gpus = gpusOf(par);
  const layers: LayerRow[] = g.layers.map((l) => ({
    name: l.name, kind: l.kind, action: offloadWeights && isBlock.has(l.id) ? 'stream weights' : 'resident',
    skeletalBytes: 0, forwardTimeSec: layerTime[l.id].fwd, backwardTimeSec: 0, attentionTimeSec: layerTime[l.id].attnFwd,
    offloadTimeSec: 0, alpha: null, offloadBytes: offloadWeights && isBlock.has(l.id) ? layerWeights[l.id] : 0,
    exposedCopySec: exposed[l.id], hidden: offloadWeights && isBlock.has(l.id) ? exposed[l.id] === 0 : null,
  }));
  const tokens = tokensOf(g) * par.dp;
  return {
    mode: 'infer', hardware: hw.name, gpus, parallel: par, capacityBytes, fits: peakBytes <= capacityBytes && cpuFits, offloadWeights, cpuBytesPerNode, cpuFits,
    peakBytes, breakdown, stepTimeSec: t, exposedCopySec: exposed.reduce((s, x) => s + x, 0),
    modelFlops: fwdFlops * par.dp, mfu: (fwdFlops * par.dp) / (t * gpus * hw.gpu.peakFlops),
    mfuFullSquare: (fullSquare * par.dp) / (t * gpus * hw.gpu.peakFlops), tokens, tokensPerSec: tokens / t,
    layers, schedule: { compute, h2d: copies }, params: ctx.states.params, ctx,
  };
}
