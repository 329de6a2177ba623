// The IR: one immutable value type for a whole model. Tensors and ops live in flat arrays indexed
// by id; layers group ops (each top-level block instance is one layer, so planners can work per
// layer). Nodes are frozen when the graph is built; analyses keep their results in side tables.
import type { Span } from '../diag/source.js';

export type DType = 'bf16' | 'fp16' | 'fp32' | 'i32' | 'i64' | 'bool';
export const DTYPES: readonly DType[] = ['bf16', 'fp16', 'fp32', 'i32', 'i64', 'bool'];
export const DTYPE_BYTES: Readonly<Record<DType, number>> = { bf16: 2, fp16: 2, fp32: 4, i32: 4, i64: 8, bool: 1 };

export type TensorKind = 'weight' | 'input' | 'output' | 'activation';

export interface Tensor {
  readonly id: number;
  /** Weights: the checkpoint name (`double_blocks.3.img_attn_qkv.weight`); others: `scope/var`. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly kind: TensorKind;
  /** The op that makes it; undefined for weights and model inputs. */
  readonly producer?: number;
  readonly origin: Span;
}

/** Attribute values are plain data so ops print and compare deterministically. */
export type AttrValue = number | boolean | string | readonly number[];

export interface Op {
  readonly id: number;
  readonly kind: string; // a key of the op table (ops/registry.ts)
  readonly inputs: readonly number[]; // tensor ids, activations first, then weights
  readonly outputs: readonly number[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
  readonly layer: number;
  readonly origin: Span;
}

export interface Layer {
  readonly id: number;
  readonly name: string; // weight scope of the block instance, e.g. `double_blocks.3`
  readonly kind: string; // block name, or `ops` for model-level ops outside blocks
  readonly ops: readonly number[];
}

export interface Graph {
  readonly model: string;
  readonly dims: Readonly<Record<string, number>>; // the bound dim values
  readonly tensors: readonly Tensor[];
  readonly ops: readonly Op[];
  readonly layers: readonly Layer[];
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function tensorBytes(t: Tensor): number {
  return numel(t.shape) * DTYPE_BYTES[t.dtype];
}

/**
 * Why a tensor of this shape and dtype is too large for the IR, or undefined if it is not: every
 * element count and byte size must be an exact integer (at most 2^53 - 1), since planners and
 * allocators do integer arithmetic on them. Bytes >= elements, so checking bytes covers both.
 */
export function tooLarge(shape: readonly number[], dtype: DType): string | undefined {
  const n = numel(shape);
  const b = n * DTYPE_BYTES[dtype];
  if (b <= Number.MAX_SAFE_INTEGER) return undefined;
  return `${dtype}${formatShape(shape)} is too large: ${n.toPrecision(3)} elements, ${b.toPrecision(3)} bytes (the limit is 2^53 - 1)`;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Deep-freezes a graph so no pass can mutate it (passes build a new one instead). */
export function freezeGraph(g: Graph): Graph {
  const freezeAll = <T extends object>(xs: readonly T[]): void => {
    for (const x of xs) {
      for (const v of Object.values(x)) if (typeof v === 'object' && v !== null) Object.freeze(v);
      Object.freeze(x);
    }
    Object.freeze(xs);
  };
  freezeAll(g.tensors);
  freezeAll(g.ops);
  freezeAll(g.layers);
  Object.freeze(g.dims);
  Object.freeze(g.inputs);
  Object.freeze(g.outputs);
  return Object.freeze(g);
}
