// Entry points of the planner: a training plan for one strategy or `auto` (the fastest estimated
// plan that fits), and, when nothing fits, the smallest change that does. MFU follows Megatron:
// model FLOPs (3x forward, recompute excluded) / (time x GPUs x peak). Attention is counted the way
// the IR counts it (causal attention as half the square, FlashAttention's convention); the
// full-square figure (PaLM / Megatron-paper convention) is reported next to it.
import type { Graph } from '../ir/types.js';
import type { HardwareProfile } from '../hw/profile.js';
import { type Context, buildContext } from './context.js';
import { checkDivisibility } from './shard.js';
import { evaluate } from './strategies.js';
import { type Parallel, STRATEGIES, type Strategy, type StrategyPlan } from './types.js';

export interface TrainingPlan {
  readonly mode: 'train';
  readonly hardware: string;
  readonly gpus: number;
  readonly parallel: Parallel;
  readonly capacityBytes: number;
  readonly plan: StrategyPlan; // the chosen one
  readonly candidates: readonly StrategyPlan[];
  readonly requested: Strategy | 'auto';
  readonly modelFlops: number;
  readonly mfu: number;
  readonly mfuFullSquare: number;
  readonly tokens: number; // per iteration, all replicas
  readonly tokensPerSec: number;
  readonly params: number;
  /** What the plan was computed from (the memory trace, src/plan/trace.ts, is built from it). */
  readonly ctx: Context;
}

/** Tokens per replica: the longest attention sequence times its batch. */
export function tokensOf(g: Graph): number {
  let best = 0;
  for (const op of g.ops)
    if (op.kind === 'attention') {
      const [b, l] = g.tensors[op.inputs[0]].shape;
      best = Math.max(best, b * l);
    }
  return best || (g.dims.batch ?? 1) * (g.dims.seq ?? 1);
}

export function gpusOf(par: Parallel): number {
  return par.tp * par.ulysses * par.cp * par.dp;
}

export function planTraining(g: Graph, hw: HardwareProfile, par: Parallel, requested: Strategy | 'auto'): TrainingPlan | { error: string } {
  const bad = checkDivisibility(g, par);
  if (bad) return { error: bad };
  const ctx = buildContext(g, hw, par);
  const candidates = (requested === 'auto' ? STRATEGIES : [requested]).map((s) => evaluate(ctx, s));
  const fitting = candidates.filter((c) => c.fits).sort((a, b) => a.stepTimeSec - b.stepTimeSec);
  const plan = requested === 'auto' ? fitting[0] ?? [...candidates].sort((a, b) => a.peakBytes - b.peakBytes)[0] : candidates[0];
  const modelFlopsReplica = ctx.ops.reduce((s, o) => s + o.modelFlops, 0);
  const fullSquareReplica = ctx.ops.reduce((s, o) => s + 3 * o.fullSquareFwd, 0);
  const gpus = gpusOf(par);
  const denom = plan.stepTimeSec * gpus * hw.gpu.peakFlops;
  const tokens = tokensOf(g) * par.dp;
  return {
    mode: 'train', hardware: hw.name, gpus, parallel: par,
    capacityBytes: hw.gpu.memoryBytes - (hw.gpu.reservedBytes ?? 0),
    plan, candidates, requested,
    modelFlops: modelFlopsReplica * par.dp,
    mfu: (modelFlopsReplica * par.dp) / denom,
    mfuFullSquare: (fullSquareReplica * par.dp) / denom,
    tokens, tokensPerSec: tokens / plan.stepTimeSec, params: ctx.states.params, ctx,
  };
}

/** "same 8 GPUs", "same GPU": how a suggestion that adds no GPUs says so. */
export const sameGpus = (n: number): string => (n === 1 ? 'same GPU' : `same ${n} GPUs`);

export interface Change {
  readonly flag: string; // e.g. "--ulysses 16"
  readonly gpus: number;
  readonly par: Parallel;
  readonly sets?: Record<string, number>;
}

/**
 * Candidate changes, smallest first: a higher ZeRO stage (same GPUs), then each parallel degree
 * doubled (twice the GPUs, then four times), then a shorter sequence (halving the dims that set
 * the token count, through `reload`). A change that adds GPUs names the new --gpus too, so it can
 * be pasted after the user's flags (an explicit --gpus N would otherwise no longer match).
 */
export function suggestChange(
  g: Graph, hw: HardwareProfile, par: Parallel, requested: Strategy | 'auto',
  fits: (g: Graph, par: Parallel) => boolean, reload?: (sets: Record<string, number>) => Graph | undefined,
): string | undefined {
  const tries: Change[] = [];
  const n = par.dp * par.ulysses * par.cp;
  if (n > 1) for (let z = par.zero + 1; z <= 3; z++) tries.push({ flag: `--zero ${z}`, gpus: gpusOf(par), par: { ...par, zero: z as 0 | 1 | 2 | 3 } });
  for (const f of [2, 4, 8]) {
    const degrees: [keyof Parallel, string][] = [['ulysses', '--ulysses'], ['tp', '--tp'], ['cp', '--cp'], ['dp', '--dp']];
    for (const [k, flag] of degrees) {
      const v = (par[k] as number) * f;
      if (k === 'tp' && v > hw.node.gpusPerNode) continue;
      // A first tp > 1 gets sequence parallelism, as the CLI's default does; an existing tp keeps its choice.
      const p: Parallel = { ...par, [k]: v, sp: k === 'tp' && par.tp === 1 ? true : par.sp, zero: k === 'dp' ? 3 : par.zero };
      tries.push({ flag: `${flag} ${v}${k === 'dp' ? ' --zero 3' : ''} --gpus ${gpusOf(p)}`, gpus: gpusOf(p), par: p });
    }
  }
  tries.sort((a, b) => a.gpus - b.gpus);
  for (const t of tries) if (!checkDivisibility(g, t.par) && fits(g, t.par)) return `${t.flag} (${t.gpus} GPUs)`;
  if (reload) {
    for (const dim of ['seq', 'frames', 'height', 'width', 'batch']) {
      let v = g.dims[dim];
      if (v === undefined) continue;
      for (let i = 0; i < 6; i++) {
        v = dim === 'frames' ? Math.floor((v - 1) / 8) * 4 + 1 : Math.floor(v / 2);
        if (v < 1) break;
        const g2 = reload({ [dim]: v });
        if (g2 && !checkDivisibility(g2, par) && fits(g2, par)) return `--set ${dim}=${v} (a shorter sequence, ${sameGpus(gpusOf(par))})`;
      }
    }
  }
  void requested;
  return undefined;
}
