// Everything the strategies share, computed once per (graph, hardware, parallel layout): shards,
// the training graph, op and layer times with their collectives, model states under ZeRO, and
// which layers are the repeated transformer layers that swap/recompute strategies act on.
import { OPS } from '../ops/registry.js';
import { type Graph, numel } from '../ir/types.js';
import type { HardwareProfile } from '../hw/profile.js';
import { type OpTime, collectiveTime, groupSpansNodes, opTimes } from './cost.js';
import { type Shards, shardGraph } from './shard.js';
import { type LayerMemory, type TrainingGraph, buildTrainingGraph } from './training.js';
import type { Parallel } from './types.js';

export interface LayerTime {
  readonly fwd: number; // compute + exposed communication
  readonly bwd: number;
  readonly attnFwd: number;
  readonly attnBwd: number;
  readonly commFwd: number;
  readonly commBwd: number;
  readonly opsFwd: readonly number[]; // op ids, for recompute sets
}

export interface States {
  readonly params: number; // whole model
  readonly paramsPerGpu: number; // after tensor parallelism, before ZeRO
  readonly weights: number;
  readonly gradients: number;
  readonly optimizer: number;
  readonly workspace: number; // ZeRO-3 gathered layer parameters and gradients
  readonly largestLayerParams: number;
}

export interface Context {
  readonly g: Graph;
  readonly hw: HardwareProfile;
  readonly par: Parallel;
  readonly gpus: number;
  readonly sh: Shards;
  readonly tg: TrainingGraph;
  readonly ops: readonly OpTime[];
  readonly layerTime: readonly LayerTime[];
  readonly mem: readonly LayerMemory[];
  /** Repeated transformer layers (a kind with 2+ instances that contains attention), in execution order. */
  readonly blocks: readonly number[];
  readonly states: States;
  readonly layerParams: readonly number[]; // per GPU after TP
  /** Per-GPU D2H and H2D bandwidth of activation swaps (all GPUs of a node copy at once). */
  readonly d2h: number;
  readonly h2d: number;
  readonly cpuPerGpu: number;
  readonly zeroGroup: number;
}

export function buildContext(g: Graph, hw: HardwareProfile, par: Parallel): Context {
  const sh = shardGraph(g, par);
  const tg = buildTrainingGraph(g, sh);
  const ops = opTimes(g, sh, hw);
  const gpus = par.tp * par.ulysses * par.cp * par.dp;
  const gpn = Math.min(gpus, hw.node.gpusPerNode);
  // pcie.allGpus applies when several GPUs of a node swap at once (shared PCIe switches).
  const d2h = gpn > 1 ? hw.pcie.allGpusBytesPerSec : hw.pcie.oneGpuBytesPerSec;
  const layerTime = g.layers.map((l) => layerTimes(g, hw, par, sh, ops, l.ops));

  const counts = new Map<string, number>();
  for (const l of g.layers) counts.set(l.kind, (counts.get(l.kind) ?? 0) + 1);
  const blocks = g.layers
    .filter((l) => l.kind !== 'ops' && (counts.get(l.kind) ?? 0) >= 2 && l.ops.some((o) => g.ops[o].kind === 'attention'))
    .map((l) => l.id);

  const zeroGroup = par.dp * par.ulysses * par.cp;
  const { states, layerParams } = modelStates(g, sh, par, zeroGroup);
  return {
    g, hw, par, gpus, sh, tg, ops, layerTime, mem: tg.layers, blocks, states, layerParams,
    d2h, h2d: d2h, cpuPerGpu: hw.node.cpuMemoryBytes / gpn, zeroGroup,
  };
}

/** Forward/backward time of one layer: op times plus the collectives its parallel layout adds. */
function layerTimes(g: Graph, hw: HardwareProfile, par: Parallel, sh: Shards, ops: readonly OpTime[], opIds: readonly number[]): LayerTime {
  let fwd = 0, bwd = 0, attnFwd = 0, attnBwd = 0, commFwd = 0, commBwd = 0;
  const tpCross = groupSpansNodes(hw, 1, par.tp);
  const ulCross = groupSpansNodes(hw, par.tp, par.ulysses);
  const cpCross = groupSpansNodes(hw, par.tp * par.ulysses, par.cp);
  const gathered = new Set<number>();
  const full = (t: number): number => (numel(g.tensors[t].shape) * 2) / (par.ulysses * par.cp); // bf16, full over tp
  for (const o of opIds) {
    const op = g.ops[o];
    fwd += ops[o].fwd;
    bwd += ops[o].bwd;
    attnFwd += ops[o].attnFwd;
    attnBwd += ops[o].attnBwd;
    if (OPS.get(op.kind)?.view) continue;
    // Megatron TP: a row-parallel linear ends in an all-reduce (or reduce-scatter with SP); with SP
    // a column-parallel linear first all-gathers its input. The backward mirrors the forward.
    const mode = sh.linearMode.get(o);
    if (par.tp > 1 && mode === 'row') {
      const t = collectiveTime(hw, par.sp ? 'reducescatter' : 'allreduce', full(op.outputs[0]), par.tp, tpCross);
      commFwd += t; commBwd += t;
    }
    if (par.tp > 1 && par.sp && mode === 'column' && !gathered.has(op.inputs[0])) {
      gathered.add(op.inputs[0]);
      const t = collectiveTime(hw, 'allgather', full(op.inputs[0]), par.tp, tpCross);
      commFwd += t; commBwd += t;
    }
    if (op.kind === 'attention') {
      const local = (t: number): number => (numel(g.tensors[t].shape) * 2) / sh.divisor[t];
      // Ulysses: all-to-all q, k, v before attention and o after (DeepSpeed-Ulysses README: 4Nh/P per layer).
      if (par.ulysses > 1) {
        const t = [op.inputs[0], op.inputs[1], op.inputs[2], op.outputs[0]].reduce((s, x) => s + collectiveTime(hw, 'alltoall', local(x), par.ulysses, ulCross), 0);
        commFwd += t; commBwd += t;
      }
      // Ring attention: K and V shards travel cp-1 hops, overlapped with the attention blocks; only
      // the excess is exposed. Backward sends K, V and their gradients (2x).
      if (par.cp > 1) {
        const kv = local(op.inputs[1]) + local(op.inputs[2]);
        const ring = (par.cp - 1) * collectiveTime(hw, 'p2p', kv, par.cp, cpCross);
        commFwd += Math.max(0, ring - ops[o].attnFwd);
        commBwd += Math.max(0, 2 * ring - ops[o].attnBwd);
      }
    }
  }
  return { fwd: fwd + commFwd, bwd: bwd + commBwd, attnFwd, attnBwd, commFwd, commBwd, opsFwd: opIds };
}

/**
 * Mixed-precision Adam: bf16 weights (2 B) and gradients (2 B), fp32 master weights and two
 * moments (12 B) per parameter (ZeRO paper's K = 12, training-memory.md §3.1). ZeRO 1/2/3 shard
 * optimizer / +gradients / +weights over the ZeRO group, which DeepSpeed-Ulysses extends to the
 * sequence-parallel ranks ("ZeRO partitions model states across both sequence and data parallel
 * group", DeepSpeed blogs/deepspeed-ulysses). ZeRO-3 gathers one layer at a time: DeepSpeed's
 * estimator budgets largest_layer_memory = 4 x largest layer params (2 B gathered weights + 2 B
 * gradients, training-memory.md §3.3).
 */
function modelStates(g: Graph, sh: Shards, par: Parallel, n: number): { states: States; layerParams: number[] } {
  const owner = new Map<number, number>();
  for (const op of g.ops) for (const t of op.inputs) if (g.tensors[t].kind === 'weight' && !owner.has(t)) owner.set(t, op.layer);
  const layerParams = new Array<number>(g.layers.length).fill(0);
  let params = 0, perGpu = 0;
  for (const [t, l] of owner) {
    const p = numel(g.tensors[t].shape);
    params += p;
    perGpu += p / sh.weightDivisor[t];
    layerParams[l] += p / sh.weightDivisor[t];
  }
  const z = n > 1 ? par.zero : 0;
  const largest = Math.max(0, ...layerParams);
  return {
    layerParams,
    states: {
      params, paramsPerGpu: perGpu, largestLayerParams: largest,
      weights: (2 * perGpu) / (z >= 3 ? n : 1),
      gradients: (2 * perGpu) / (z >= 2 ? n : 1),
      optimizer: (12 * perGpu) / (z >= 1 ? n : 1),
      workspace: z >= 3 ? 4 * largest : 0,
    },
  };
}
