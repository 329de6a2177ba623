// The reference interpreter: runs a Graph op by op on per-tensor Float64Array buffers, with fp64
// math. It is the oracle every backend is compared against, so it is written for clarity: plain
// loops over row-major (C order) indices, one function per op, the exact math in each comment.
//
// Precision modes. After each op, every output is rounded to what its storage can hold:
//   - 'fp32': bf16/fp16/fp32 tensors are stored as fp32 (the CPU backend compiled with --dtype fp32);
//   - 'bf16': tensors are stored in their declared dtype (bf16 rounds to nearest even, fp16 likewise).
// Integer and bool tensors are exact in both. Inside an op all arithmetic is fp64 with one rounding
// at the end: a fused op (modulate, rmsnorm) is one rounding, not one per PyTorch sub-expression.
import type { DType, Graph, Op, Tensor } from '../ir/types.js';
import { roundTo, type TensorData } from '../safetensors/index.js';
import { attention, conv3d, rope } from './kernels.js';

export type EvalDType = 'fp32' | 'bf16';

export class EvalError extends Error {}

/** The dtype a tensor is stored in under a precision mode. */
export function storageDtype(dtype: DType, mode: EvalDType): DType {
  return mode === 'fp32' && (dtype === 'bf16' || dtype === 'fp16') ? 'fp32' : dtype;
}

export const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const prod = (s: readonly number[], from: number, to: number): number => numel(s.slice(from, to));

export function stridesOf(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) st[i] = st[i + 1] * shape[i + 1];
  return st;
}

export type Buf = Float64Array;

/** out[idx] = src[sum_k idx_k * srcStrides_k + srcOffset] for every idx of `shape` (row-major out). */
function gather(shape: readonly number[], src: Buf, srcStrides: readonly number[], srcOffset: number, out: Buf, outStrides = stridesOf(shape), outOffset = 0): void {
  const n = numel(shape);
  const r = shape.length;
  const idx = new Array<number>(r).fill(0);
  for (let i = 0; i < n; i++) {
    let s = srcOffset;
    let o = outOffset;
    for (let k = 0; k < r; k++) {
      s += idx[k] * srcStrides[k];
      o += idx[k] * outStrides[k];
    }
    out[o] = src[s];
    for (let k = r - 1; k >= 0; k--) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
}

/** Strides of `shape` broadcast to `out` (numpy rules, right-aligned; size-1 axes get stride 0). */
function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const st = stridesOf(shape);
  const off = out.length - shape.length;
  return out.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : st[i - off]));
}

export const gelu = (x: number, approx: string): number =>
  approx === 'tanh' ? 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)))
    : approx === 'quick' ? x / (1 + Math.exp(-1.702 * x))
      : 0.5 * x * (1 + erf(x / Math.SQRT2));
export const silu = (x: number): number => x / (1 + Math.exp(-x));

/** erf by its Maclaurin series for |x| < 3 and the asymptotic continued fraction beyond (|error| < 1e-14). */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 3) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 200; n++) {
      term *= (-a * a) / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(a) = exp(-a^2)/sqrt(pi) * 1/(a + 1/2/(a + 1/(a + 3/2/(a + ...)))) (Lentz-free, 60 terms).
  let f = a;
  for (let k = 60; k >= 1; k--) f = a + k / 2 / f;
  return Math.sign(x) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / f);
}

/**
 * Runs one op. `ins` are the op's input buffers (activations in parameter order, then weights),
 * `ts` their tensors; returns one buffer per output (before rounding).
 */
export function runOp(op: Op, ins: readonly Buf[], ts: readonly Tensor[], outs: readonly Tensor[]): Buf[] {
  const a = op.attrs;
  const out0 = (): Buf => new Float64Array(numel(outs[0].shape));
  const x = ins[0];
  const xs = ts[0]?.shape ?? [];
  switch (op.kind) {
    case 'linear': {
      // y[m, n] = sum_k x[m, k] * W[n, k] + b[n];  x [M, K], W [N, K]
      const K = xs[xs.length - 1];
      const N = ts[1].shape[0];
      const M = numel(xs) / K;
      const [w, b] = [ins[1], a.bias ? ins[2] : undefined];
      const y = out0();
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++) {
          let s = b ? b[n] : 0;
          for (let k = 0; k < K; k++) s += x[m * K + k] * w[n * K + k];
          y[m * N + n] = s;
        }
      return [y];
    }
    case 'matmul': {
      // y[p, m, n] = sum_k a[p, m, k] * b[p, k, n] over the batch axes p
      const r = xs.length;
      const [M, K, N] = [xs[r - 2], xs[r - 1], ts[1].shape[r - 1]];
      const P = prod(xs, 0, r - 2);
      const y = out0();
      for (let p = 0; p < P; p++)
        for (let m = 0; m < M; m++)
          for (let n = 0; n < N; n++) {
            let s = 0;
            for (let k = 0; k < K; k++) s += x[p * M * K + m * K + k] * ins[1][p * K * N + k * N + n];
            y[p * M * N + m * N + n] = s;
          }
      return [y];
    }
    case 'attention': return [attention(op, ins, ts)];
    case 'rope': return [rope(op, x, xs)];
    case 'layernorm': case 'rmsnorm': {
      // layernorm: y = (x - mean) / sqrt(var + eps) * w + b  (biased var, over the last axis)
      // rmsnorm:   y = x / sqrt(mean(x^2) + eps) * w
      const C = xs[xs.length - 1];
      const R = numel(xs) / C;
      const eps = a.eps as number;
      const affine = op.kind === 'rmsnorm' || (a.affine as boolean);
      const y = out0();
      for (let r = 0; r < R; r++) {
        let mean = 0;
        if (op.kind === 'layernorm') {
          for (let c = 0; c < C; c++) mean += x[r * C + c];
          mean /= C;
        }
        let v = 0;
        for (let c = 0; c < C; c++) v += (x[r * C + c] - mean) ** 2;
        const rstd = 1 / Math.sqrt(v / C + eps);
        for (let c = 0; c < C; c++) {
          let o = (x[r * C + c] - mean) * rstd;
          if (affine) o *= ins[1][c];
          if (op.kind === 'layernorm' && affine) o += ins[2][c];
          y[r * C + c] = o;
        }
      }
      return [y];
    }
    case 'groupnorm': {
      // x [B, C, S...]: per (b, group of C/G channels) y = (x - mean) / sqrt(var + eps) * w[c] + b[c]
      const [B, C] = xs;
      const S = prod(xs, 2, xs.length);
      const G = a.groups as number;
      const cg = C / G;
      const y = out0();
      for (let b = 0; b < B; b++)
        for (let g = 0; g < G; g++) {
          const base = (b * C + g * cg) * S;
          const n = cg * S;
          let mean = 0;
          for (let i = 0; i < n; i++) mean += x[base + i];
          mean /= n;
          let v = 0;
          for (let i = 0; i < n; i++) v += (x[base + i] - mean) ** 2;
          const rstd = 1 / Math.sqrt(v / n + (a.eps as number));
          for (let i = 0; i < n; i++) {
            const c = g * cg + Math.floor(i / S);
            y[base + i] = a.affine ? (x[base + i] - mean) * rstd * ins[1][c] + ins[2][c] : (x[base + i] - mean) * rstd;
          }
        }
      return [y];
    }
    case 'add': case 'sub': case 'mul': {
      // numpy broadcasting: y[idx] = a[idx mod a.shape] (op) b[idx mod b.shape]
      const os = outs[0].shape;
      const A = new Float64Array(numel(os));
      const Bv = new Float64Array(numel(os));
      gather(os, ins[0], broadcastStrides(xs, os), 0, A);
      gather(os, ins[1], broadcastStrides(ts[1].shape, os), 0, Bv);
      const y = out0();
      for (let i = 0; i < y.length; i++) y[i] = op.kind === 'add' ? A[i] + Bv[i] : op.kind === 'sub' ? A[i] - Bv[i] : A[i] * Bv[i];
      return [y];
    }
    case 'silu': return [x.map(silu)];
    case 'gelu': return [x.map((v) => gelu(v, a.approx as string))];
    case 'modulate': case 'gate': {
      // x [B, ..., C], per-sample vectors [B, C]:  modulate: x * (1 + scale) + shift;  gate: x * g
      const C = xs[xs.length - 1];
      const per = numel(xs) / xs[0];
      const y = out0();
      for (let i = 0; i < x.length; i++) {
        const j = Math.floor(i / per) * C + (i % C);
        y[i] = op.kind === 'modulate' ? x[i] * (1 + ins[2][j]) + ins[1][j] : x[i] * ins[1][j];
      }
      return [y];
    }
    case 'cast': return [Float64Array.from(x)];
    case 'reshape': return [Float64Array.from(x)];
    case 'concat': {
      const ax = a.axis as number;
      const os = outs[0].shape;
      const y = out0();
      const ost = stridesOf(os);
      let at = 0;
      ins.forEach((src, k) => {
        gather(ts[k].shape, src, stridesOf(ts[k].shape), 0, y, ost, at * ost[ax]);
        at += ts[k].shape[ax];
      });
      return [y];
    }
    case 'split': case 'chunk': case 'slice': {
      // Each output is x restricted to [start, start + size) along the axis.
      const ax = a.axis as number;
      const st = stridesOf(xs);
      const starts: number[] = [];
      if (op.kind === 'slice') starts.push(a.start as number);
      else {
        let at = 0;
        for (const o of outs) { starts.push(at); at += o.shape[ax]; }
      }
      return outs.map((o, k) => {
        const y = new Float64Array(numel(o.shape));
        gather(o.shape, x, st, starts[k] * st[ax], y);
        return y;
      });
    }
    case 'transpose': {
      // y[idx] = x[idx permuted]: the output axis i reads input axis perm[i]
      const perm = a.perm as number[];
      const st = stridesOf(xs);
      const y = out0();
      gather(outs[0].shape, x, perm.map((p) => st[p]), 0, y);
      return [y];
    }
    case 'patchify': {
      // y[b, (t*Hn + h)*Wn + w, ((c*pt + i)*ph + j)*pw + k] = x[b, c, t*pt + i, h*ph + j, w*pw + k]
      const [B, C, T, H, W] = xs;
      const [pt, ph, pw] = a.patch as number[];
      const st = stridesOf(xs);
      // As an 8-axis gather over (b, t, h, w, c, i, j, k):
      const shape = [B, T / pt, H / ph, W / pw, C, pt, ph, pw];
      const s = [st[0], pt * st[2], ph * st[3], pw * st[4], st[1], st[2], st[3], st[4]];
      const y = out0();
      gather(shape, x, s, 0, y);
      return [y];
    }
    case 'unpatchify': {
      // y[b, c, t*pt + i, h*ph + j, w*pw + k] = x[b, (t*gh + h)*gw + w, ((c*pt + i)*ph + j)*pw + k]
      const [gt, gh, gw] = a.grid as number[];
      const [pt, ph, pw] = a.patch as number[];
      const os = outs[0].shape;
      const C = os[1];
      // Gather over the output's 8 axes (b, c, t, i, h, j, w, k), reading x [b, t, h, w, c, i, j, k].
      const xst = stridesOf([os[0], gt, gh, gw, C, pt, ph, pw]);
      const shape = [os[0], C, gt, pt, gh, ph, gw, pw];
      const s = [xst[0], xst[4], xst[1], xst[5], xst[2], xst[6], xst[3], xst[7]];
      const y = out0();
      gather(shape, x, s, 0, y);
      return [y];
    }
    case 'conv3d': return [conv3d(op, ins, ts, outs[0])];
    case 'upsample': {
      // nearest: y[b, c, t, h, w] = x[b, c, src_t, h / fh, w / fw]; causal: src_t = 0 for t = 0,
      // else 1 + (t - 1) / ft (frame 0 is upsampled in space only); otherwise src_t = t / ft
      const [B, C, T, H, W] = xs;
      const [ft, fh, fw] = a.factor as number[];
      const [, , To, Ho, Wo] = outs[0].shape;
      const y = out0();
      let i = 0;
      for (let bc = 0; bc < B * C; bc++)
        for (let t = 0; t < To; t++) {
          const st = a.causal ? (t === 0 ? 0 : 1 + Math.floor((t - 1) / ft)) : Math.floor(t / ft);
          for (let h = 0; h < Ho; h++)
            for (let w = 0; w < Wo; w++) y[i++] = x[((bc * T + st) * H + Math.floor(h / fh)) * W + Math.floor(w / fw)];
        }
      return [y];
    }
    case 'embedding': {
      // y[..., :] = W[ids[...], :]
      const D = ts[1].shape[1];
      const V = ts[1].shape[0];
      const y = out0();
      for (let i = 0; i < x.length; i++) {
        const id = x[i];
        if (id < 0 || id >= V) throw new EvalError(`embedding: id ${id} at position ${i} is outside [0, ${V}); check the ids input`);
        for (let d = 0; d < D; d++) y[i * D + d] = ins[1][id * D + d];
      }
      return [y];
    }
    case 'timestep_embedding': {
      // y[b] = [cos(t_b f_0), ..., cos(t_b f_{h-1}), sin(t_b f_0), ..., sin(t_b f_{h-1})],
      // h = dim/2, f_i = exp(-ln(max_period) * i / h)  (f_i rounded to fp32, as PyTorch makes it)
      const dim = a.dim as number;
      const h = dim / 2;
      const y = out0();
      for (let b = 0; b < x.length; b++)
        for (let i = 0; i < h; i++) {
          const arg = x[b] * Math.fround(Math.exp((-Math.log(a.max_period as number) * i) / h));
          y[b * dim + i] = Math.cos(arg);
          y[b * dim + h + i] = Math.sin(arg);
        }
      return [y];
    }
    case 'mean': case 'sum': {
      // y[o, j] = sum_i m[o, i] x[o, i, j] (/ sum_i m[o, i] for mean), x viewed as [outer, n, inner];
      // a mask covers the axes up to and including the reduced one. An all-false row gives 0.
      const ax = a.axis as number;
      const outer = prod(xs, 0, ax);
      const n = xs[ax];
      const inner = prod(xs, ax + 1, xs.length);
      const m = a.masked ? ins[1] : undefined;
      const y = out0();
      for (let o = 0; o < outer; o++) {
        let cnt = 0;
        for (let i = 0; i < n; i++) cnt += m ? m[o * n + i] : 1;
        for (let j = 0; j < inner; j++) {
          let s = 0;
          for (let i = 0; i < n; i++) if (!m || m[o * n + i]) s += x[(o * n + i) * inner + j];
          y[o * inner + j] = op.kind === 'mean' ? (cnt > 0 ? s / cnt : 0) : s;
        }
      }
      return [y];
    }
    default:
      throw new EvalError(`op '${op.kind}' has no reference implementation`);
  }
}

export interface EvalResult {
  readonly outputs: Map<string, TensorData>;
  /** Every tensor's value (for debugging and per-tensor comparisons), by tensor id. */
  readonly values: readonly (Buf | undefined)[];
}

/** Evaluates the graph. Weights are looked up by checkpoint name, inputs by input name. */
export function evaluate(g: Graph, weights: ReadonlyMap<string, TensorData>, inputs: ReadonlyMap<string, TensorData>, mode: EvalDType = 'fp32'): EvalResult {
  const values: (Buf | undefined)[] = new Array(g.tensors.length);
  const bind = (t: Tensor, d: TensorData | undefined, what: string): void => {
    if (!d) throw new EvalError(`${what} '${t.name}' is missing; expected ${t.dtype}[${t.shape.join(', ')}]`);
    if (d.shape.join() !== t.shape.join())
      throw new EvalError(`${what} '${t.name}' has shape [${d.shape.join(', ')}], the spec expects [${t.shape.join(', ')}]`);
    const st = storageDtype(t.dtype, mode);
    values[t.id] = d.data.map((v) => roundTo(st, v));
  };
  for (const t of g.tensors) if (t.kind === 'weight') bind(t, weights.get(t.name), 'weight');
  for (const id of g.inputs) bind(g.tensors[id], inputs.get(g.tensors[id].name), 'input');
  for (const op of g.ops) {
    const ts = op.inputs.map((i) => g.tensors[i]);
    const outs = op.outputs.map((i) => g.tensors[i]);
    const res = runOp(op, op.inputs.map((i) => values[i]!), ts, outs);
    res.forEach((r, k) => {
      const st = storageDtype(outs[k].dtype, mode);
      for (let i = 0; i < r.length; i++) r[i] = roundTo(st, r[i]);
      values[outs[k].id] = r;
    });
  }
  const outputs = new Map<string, TensorData>();
  for (const id of g.outputs) {
    const t = g.tensors[id];
    outputs.set(t.name, { dtype: storageDtype(t.dtype, mode), shape: t.shape, data: values[id]! });
  }
  return { outputs, values };
}

/** max |a - b| / max |b| over all elements (a norm-wise relative error; 0 when both are zero). */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  if (Number.isNaN(num)) return Infinity;
  return den === 0 ? num : num / den;
}
