// Time of every op and collective on one GPU. Ops use a roofline: max(FLOPs / (peak x efficiency
// of the op's class), bytes moved / (HBM bandwidth x memory efficiency)). Backward rules: GEMM
// and convolution 2x forward FLOPs (dgrad + wgrad); FlashAttention backward 2.5x forward (5
// matmuls vs 2, FlashAttention-2 §4.1); memory-bound ops move 2x their forward bytes (read the
// output gradient and the saved input, write the input gradient) [inferred]. Collectives use an
// alpha-beta model: latency + bytes on the wire / link bandwidth.
import { opCost } from '../analysis/cost.js';
import { OPS } from '../ops/registry.js';
import { DTYPE_BYTES, type Graph, numel } from '../ir/types.js';
import type { HardwareProfile } from '../hw/profile.js';
import type { Shards } from './shard.js';

export interface OpTime {
  readonly fwd: number;
  readonly bwd: number;
  readonly attnFwd: number; // the attention part (FlashAttention kernel) of fwd
  readonly attnBwd: number;
  /** FLOPs the model counts (3x forward, no recompute), whole op across all GPUs. */
  readonly modelFlops: number;
  /** Forward FLOPs of attention counted as a full square (for the full-square MFU figure). */
  readonly fullSquareFwd: number;
  readonly fwdFlops: number;
}

export function opTimes(g: Graph, sh: Shards, hw: HardwareProfile): OpTime[] {
  const P = hw.gpu.peakFlops;
  const e = hw.efficiency;
  const bw = hw.gpu.memoryBytesPerSec * e.memory;
  return g.ops.map((op) => {
    const c = opCost(g, op.id);
    const fwdFlops = c.gemm + c.conv + c.attention;
    let fullSquareFwd = fwdFlops;
    if (op.kind === 'attention') {
      const [B, lq, hq, d] = g.tensors[op.inputs[0]].shape;
      fullSquareFwd = c.gemm + c.conv + 4 * B * hq * lq * g.tensors[op.inputs[1]].shape[1] * d;
    }
    const zero = { fwd: 0, bwd: 0, attnFwd: 0, attnBwd: 0, modelFlops: 3 * fwdFlops, fullSquareFwd, fwdFlops };
    if (OPS.get(op.kind)?.view) return zero;
    const div = sh.opDivisor[op.id];
    const bytes = [...op.inputs, ...op.outputs].reduce((s, t) => {
      const x = g.tensors[t];
      return s + (numel(x.shape) * DTYPE_BYTES[x.dtype]) / sh.divisor[t];
    }, 0);
    const memFwd = bytes / bw;
    const gemm = (c.gemm + c.conv) / div / (P * e.gemm);
    const attnFwd = c.attention / div / (P * e.attentionForward);
    const attnBwd = (2.5 * c.attention) / div / (P * e.attentionBackward);
    const fwd = Math.max(gemm + attnFwd, memFwd);
    const bwd = Math.max(2 * gemm + attnBwd, 2 * memFwd);
    return { ...zero, fwd, bwd, attnFwd: op.kind === 'attention' ? fwd : 0, attnBwd: op.kind === 'attention' ? bwd : 0 };
  });
}

export type Collective = 'allreduce' | 'allgather' | 'reducescatter' | 'alltoall' | 'p2p';

/** Group strides: tp innermost, then ulysses, cp, dp (ranks of a tp group are adjacent). */
export function groupSpansNodes(hw: HardwareProfile, inner: number, degree: number): boolean {
  return inner * degree > hw.node.gpusPerNode;
}

/**
 * Time of one collective over `degree` GPUs. `bytes` is the full (gathered) tensor for
 * all-gather/reduce-scatter/all-reduce, and the local buffer for all-to-all and p2p.
 */
export function collectiveTime(hw: HardwareProfile, kind: Collective, bytes: number, degree: number, crossNode: boolean): number {
  if (degree <= 1 || bytes <= 0) return 0;
  const link = crossNode ? hw.node.interNodeBytesPerSec : hw.nvlink.bytesPerSecPerDirection * hw.nvlink.efficiency;
  const f = (degree - 1) / degree;
  // Bytes each GPU sends (ring algorithms; NCCL's bus-bandwidth convention).
  const wire = kind === 'allreduce' ? 2 * f * bytes : kind === 'p2p' ? bytes : f * bytes;
  return hw.nvlink.latencySec + wire / link;
}
