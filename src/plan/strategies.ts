// The four training strategies, each evaluated to a full plan (peak memory per GPU by category,
// iteration time from the three-stream schedule, CPU memory, per-layer rows):
//   none            keep every skeletal activation on the GPU;
//   full-recompute  Megatron full recompute: keep each layer's input, rerun its forward in backward;
//   selective       recompute memory-bound producers (norms, activations, modulation) whose inputs
//                   are saved anyway (Megatron-Core's fine-grained --recompute-modules, e.g.
//                   layernorm / activation); FlashAttention already recomputes attention internals;
//   memo            MEMO token-wise swap/recompute with two rounding buffers (memo.ts).
// Strategies act on the repeated transformer layers; the other layers (embeddings, token
// refiner, final layer, head) keep their activations under every strategy.
import { OPS } from '../ops/registry.js';
import type { Context } from './context.js';
import { collectiveTime, groupSpansNodes } from './cost.js';
import { decideMemo, recomputeOps } from './memo.js';
import { type SchedLayer, simulate } from './schedule.js';
import type { Breakdown, LayerRow, Strategy, StrategyPlan } from './types.js';

/** Memory-bound producers of saved tensors whose own inputs are saved in the same layer. */
export function selectiveDrops(ctx: Context, layer: number): { bytes: number; ops: number[] } {
  const { g, mem } = ctx;
  const saved = new Set(mem[layer].saved.map((s) => s.root));
  let bytes = 0;
  const ops: number[] = [];
  for (const s of mem[layer].saved) {
    if (s.cls !== 'other' || s.producer === undefined) continue;
    const op = g.ops[s.producer];
    const c = ctx.ops[op.id];
    if (OPS.get(op.kind)?.view || c.fwdFlops > 0) continue; // GEMMs, attention, convs stay saved
    const inputs = op.inputs.filter((t) => g.tensors[t].kind !== 'weight' && ['bf16', 'fp16', 'fp32'].includes(g.tensors[t].dtype));
    if (inputs.every((t) => ctx.tg.rootsOf(t).every((r) => saved.has(r)))) {
      bytes += s.bytes;
      ops.push(op.id);
    }
  }
  return { bytes, ops };
}

export function evaluate(ctx: Context, strategy: Strategy): StrategyPlan {
  const { g, mem, layerTime, blocks, states, hw, par } = ctx;
  const isBlock = new Set(blocks);
  const notes: string[] = [];
  const memo = strategy === 'memo' ? decideMemo(ctx) : undefined;
  if (memo) notes.push(...memo.notes);
  const blockPos = new Map(blocks.map((l, i) => [l, i]));
  const maxBlockSkeletal = Math.max(0, ...blocks.map((l) => mem[l].skeletalBytes));

  let skeletal = 0;
  let recomputeSec = 0;
  const sched: SchedLayer[] = [];
  const action: string[] = [];
  const alphaOf: (number | null)[] = [];
  const offBytes: number[] = [];
  let slot = 0;
  for (const l of g.layers) {
    const m = mem[l.id];
    const t = layerTime[l.id];
    let recompute = 0, s = -1, offload = 0, act = 'keep';
    let a: number | null = null;
    if (!isBlock.has(l.id) || strategy === 'none') {
      skeletal += m.skeletalBytes;
    } else if (strategy === 'full-recompute' || (memo && !memo.swapped.has(l.id) && blockPos.get(l.id)! < blocks.length - 2)) {
      skeletal += m.inputBytes;
      recompute = t.fwd;
      act = 'recompute';
    } else if (strategy === 'selective') {
      const d = selectiveDrops(ctx, l.id);
      skeletal += m.skeletalBytes - d.bytes;
      recompute = d.ops.reduce((x, o) => x + ctx.ops[o].fwd, 0);
      act = 'selective';
    } else if (memo) {
      a = memo.alpha[l.kind] ?? 0;
      s = slot++;
      const last = blockPos.get(l.id)! >= blocks.length - 2;
      offload = last ? 0 : m.inputBytes + m.attnBytes + a * m.otherBytes;
      recompute = last ? 0 : (1 - a) * recomputeOps(ctx, l.id).reduce((x, o) => x + ctx.ops[o].fwd, 0);
      act = last ? 'memo (in buffer)' : 'memo';
    }
    recomputeSec += recompute;
    action.push(act);
    alphaOf.push(a);
    offBytes.push(offload);
    sched.push({ name: l.name, fwd: t.fwd, bwd: t.bwd, recompute, slot: s, offloadSec: offload / ctx.d2h, prefetchSec: offload / ctx.h2d });
  }
  // Full recompute rebuilds one layer's whole skeletal set at a time (in the memo fallback the
  // rounding buffers serve as that space).
  if (strategy === 'full-recompute') skeletal += maxBlockSkeletal;
  const run = simulate(sched);

  // Data parallel / ZeRO communication and the optimizer step.
  const n = ctx.zeroGroup;
  const z = n > 1 ? par.zero : 0;
  if (par.zero > 0 && n === 1) notes.push(`--zero ${par.zero} shards nothing: its group (dp x ulysses x cp) is 1 GPU`);
  const zCross = groupSpansNodes(hw, par.tp, n);
  const gradBytes = 2 * states.paramsPerGpu;
  const bwdCompute = layerTime.reduce((s, t) => s + t.bwd, 0);
  let exposedCommSec = 0;
  if (n > 1 && z === 0) {
    exposedCommSec += Math.max(0, collectiveTime(hw, 'allreduce', gradBytes, n, zCross) - bwdCompute);
  } else if (z === 1 || z === 2) {
    // ZeRO-1 and -2 both leave each rank with only its shard of updated parameters: gradients are
    // reduce-scattered under the backward and the bf16 parameters all-gathered after the step
    // (ZeRO paper §7.2.1, same 2-psi volume as DP; Megatron's distributed optimizer, a ZeRO-1,
    // does exactly this, training-memory.md §3.2).
    exposedCommSec += Math.max(0, collectiveTime(hw, 'reducescatter', gradBytes, n, zCross) - bwdCompute);
    exposedCommSec += collectiveTime(hw, 'allgather', gradBytes, n, zCross);
  } else if (z === 3) {
    // Per layer: gather weights for forward and backward, reduce-scatter gradients; prefetched
    // under the neighbouring layer's compute, so only the excess is exposed.
    g.layers.forEach((l) => {
      const b = 2 * ctx.layerParams[l.id];
      const ag = collectiveTime(hw, 'allgather', b, n, zCross);
      exposedCommSec += Math.max(0, ag - layerTime[l.id].fwd) + Math.max(0, ag + collectiveTime(hw, 'reducescatter', b, n, zCross) - layerTime[l.id].bwd);
    });
  }
  // Adam touches 28 B per parameter shard: reads fp32 master, m, v and bf16 gradient (14 B),
  // writes master, m, v and the bf16 weight (14 B) [inferred from the update rule].
  const optimizerSec = (28 * states.paramsPerGpu) / (z >= 1 ? n : 1) / (hw.gpu.memoryBytesPerSec * hw.efficiency.memory);
  const stepTimeSec = run.endSec + exposedCommSec + optimizerSec;
  const compute = run.streams.compute;
  compute.push(['optimizer', run.endSec + exposedCommSec, stepTimeSec]);

  const transient = Math.max(0, ...mem.map((m) => Math.max(m.fwdTransientPeak, m.bwdTransientPeak)));
  const breakdown: Breakdown = {
    weights: states.weights, gradients: states.gradients, optimizer: states.optimizer,
    skeletal, transient, swapBuffers: memo ? 2 * maxBlockSkeletal : 0, workspace: states.workspace,
  };
  const peakBytes = Object.values(breakdown).reduce((s, x) => s + x, 0);
  const gpn = Math.min(ctx.gpus, hw.node.gpusPerNode);
  const cpuBytesPerNode = offBytes.reduce((s, b) => s + b, 0) * gpn;
  const cpuFits = cpuBytesPerNode <= hw.node.cpuMemoryBytes;
  const capacity = hw.gpu.memoryBytes - (hw.gpu.reservedBytes ?? 0);
  const layers: LayerRow[] = g.layers.map((l, i) => {
    const exposed = run.exposedFwd[i] + run.exposedBwd[i];
    return {
      name: l.name, kind: l.kind, action: action[i], skeletalBytes: mem[i].skeletalBytes,
      forwardTimeSec: layerTime[i].fwd, backwardTimeSec: layerTime[i].bwd, attentionTimeSec: layerTime[i].attnFwd,
      offloadTimeSec: mem[i].skeletalBytes / ctx.d2h, alpha: alphaOf[i], offloadBytes: offBytes[i],
      exposedCopySec: exposed, hidden: offBytes[i] > 0 ? exposed === 0 : null,
    };
  });
  const exposedCopySec = layers.reduce((s, l) => s + l.exposedCopySec, 0);
  return {
    strategy, fits: peakBytes <= capacity && cpuFits, peakBytes, breakdown, stepTimeSec, cpuBytesPerNode, cpuFits,
    alpha: memo ? memo.alpha : null, layers, schedule: run.streams, recomputeSec, exposedCopySec, exposedCommSec, notes,
  };
}
