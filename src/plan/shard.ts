// Per-GPU shards of every tensor and op under --tp (Megatron, optionally with sequence parallel),
// --ulysses, --cp and --dp. Tensor parallelism is found by propagation, the way Megatron lays a
// block out: a linear on a full token tensor is column-parallel (output split over features), a
// linear on a split tensor is row-parallel (output full, then all-reduced or reduce-scattered);
// linears on tensors without a token axis (adaLN's [B, C] vector) stay replicated because they
// are GEMVs. Elementwise ops and views keep their input's split. Ulysses and ring CP split every
// token tensor (rank >= 3) by their degree; Ulysses trades the sequence split for a head split
// inside attention, which keeps the per-GPU size the same.
import type { Graph, Op } from '../ir/types.js';
import type { Parallel } from './types.js';

export type LinearMode = 'column' | 'row' | 'replicated';

export interface Shards {
  readonly par: Parallel;
  /** True when the tensor is split over its feature axis by tensor parallelism. */
  readonly split: readonly boolean[];
  readonly linearMode: ReadonlyMap<number, LinearMode>;
  /** Per-GPU fraction divisor of each tensor. */
  readonly divisor: readonly number[];
  /** Per-GPU divisor of each op's FLOPs. */
  readonly opDivisor: readonly number[];
  /** Per-GPU divisor of each weight tensor (tensor parallelism only; ZeRO is separate). */
  readonly weightDivisor: readonly number[];
}

const activationInputs = (g: Graph, op: Op): number[] => op.inputs.filter((t) => g.tensors[t].kind !== 'weight');
const hasTokens = (g: Graph, t: number): boolean => g.tensors[t].shape.length >= 3;

export function shardGraph(g: Graph, par: Parallel): Shards {
  const split = new Array<boolean>(g.tensors.length).fill(false);
  const linearMode = new Map<number, LinearMode>();
  const weightDivisor = new Array<number>(g.tensors.length).fill(1);
  const opDivisor = new Array<number>(g.ops.length).fill(1);
  const seqShard = par.ulysses * par.cp;
  for (const op of g.ops) {
    const acts = activationInputs(g, op);
    const weights = op.inputs.filter((t) => g.tensors[t].kind === 'weight');
    let outSplit = acts.some((t) => split[t]);
    if (op.kind === 'linear') {
      const x = acts[0];
      const mode: LinearMode = !hasTokens(g, x) ? 'replicated' : split[x] ? 'row' : 'column';
      linearMode.set(op.id, mode);
      outSplit = mode === 'column' && par.tp > 1;
      if (mode !== 'replicated') for (const w of weights) weightDivisor[w] = Math.max(weightDivisor[w], par.tp);
      // Column/row linears split their FLOPs by tp; a replicated linear on a token tensor is split
      // only when sequence parallel shards its rows.
      const tokens = hasTokens(g, x) ? seqShard : 1;
      opDivisor[op.id] = tokens * (mode !== 'replicated' || (par.sp && hasTokens(g, x)) ? par.tp : 1);
    } else if (op.kind === 'embedding') {
      // Megatron's vocab-parallel embedding: table split by tp, output all-reduced to full.
      for (const w of weights) weightDivisor[w] = par.tp;
      outSplit = false;
    } else if (op.kind === 'conv3d') {
      outSplit = false; // convolutions are not tensor-parallel here
    } else if (op.kind === 'attention') {
      opDivisor[op.id] = par.tp * seqShard; // heads by tp and Ulysses, queries by CP
    }
    if (par.tp === 1) outSplit = false;
    for (const o of op.outputs) split[o] = outSplit;
    if (op.kind !== 'linear' && op.kind !== 'attention') {
      const x = acts[0];
      const tokens = x !== undefined && hasTokens(g, x);
      opDivisor[op.id] = (tokens ? seqShard : 1) * (outSplit || (par.sp && tokens) ? par.tp : 1);
    }
  }
  const divisor = g.tensors.map((t, i) => {
    if (t.kind === 'weight') return weightDivisor[i];
    const tokens = hasTokens(g, i);
    return (tokens ? seqShard : 1) * (split[i] || (par.sp && tokens) ? par.tp : 1);
  });
  return { par, split, linearMode, divisor, opDivisor, weightDivisor };
}

/** Checks that heads and token counts divide by the parallel degrees; returns one message or undefined. */
export function checkDivisibility(g: Graph, par: Parallel): string | undefined {
  for (const op of g.ops) {
    if (op.kind !== 'attention') continue;
    const q = g.tensors[op.inputs[0]];
    const k = g.tensors[op.inputs[1]];
    const [, lq, hq] = q.shape;
    const hkv = k.shape[2];
    if (hq % (par.tp * par.ulysses) !== 0 || hkv % (par.tp * par.ulysses) !== 0)
      return `attention in layer '${g.layers[op.layer].name}' has ${hq} query / ${hkv} kv heads, not divisible by tp x ulysses = ${par.tp * par.ulysses}`;
    if (lq % (par.ulysses * par.cp) !== 0)
      return `attention in layer '${g.layers[op.layer].name}' has ${lq} tokens, not divisible by ulysses x cp = ${par.ulysses * par.cp}`;
    // Megatron sequence parallelism splits the tokens over the tp ranks as well: its scatter
    // (tensor_parallel/mappings.py, _split_along_first_dim) asserts "First dimension of the tensor
    // should be divisible by tensor parallel size".
    const seqSplit = par.ulysses * par.cp * (par.sp ? par.tp : 1);
    if (lq % seqSplit !== 0)
      return `attention in layer '${g.layers[op.layer].name}' has ${lq} tokens, not divisible by tp x ulysses x cp = ${seqSplit} (sequence parallel splits tokens over tp too; --no-sp turns it off)`;
  }
  return undefined;
}
