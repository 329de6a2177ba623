// The op table's contract. Each op is data (its parameters) plus two pure functions: `infer`
// (shapes, dtypes, attributes and the weights it owns) and `cost` (FLOPs by category).
// The elaborator binds call arguments to `params` and reports any mismatch before `infer` runs.
import type { MessageCode } from '../diag/messages.js';
import type { AttrValue, DType } from '../ir/types.js';

export type ParamType = 'tensor' | 'tensors' | 'int' | 'float' | 'bool' | 'str' | 'ints';

/**
 * The dtypes a tensor parameter accepts. `float`: the op's math needs floating point (GEMMs,
 * convolutions, attention, norms, activations, rope, mean); `numeric`: any number, not bool;
 * `index`: integer ids; `bool`: masks. A parameter without one (views, add/sub/mul, cast) takes
 * any dtype. The one check is `checkDtypes`, which the registry runs before every op's `infer`.
 */
export type DtypeRule = 'float' | 'numeric' | 'index' | 'bool';

export const DTYPE_RULES: Readonly<Record<DtypeRule, { readonly dtypes: readonly DType[]; readonly what: string }>> = {
  float: { dtypes: ['bf16', 'fp16', 'fp32'], what: 'floating point (bf16, fp16 or fp32)' },
  numeric: { dtypes: ['bf16', 'fp16', 'fp32', 'i32', 'i64'], what: 'numeric (not bool)' },
  index: { dtypes: ['i32', 'i64'], what: 'i32 or i64' },
  bool: { dtypes: ['bool'], what: 'bool' },
};

export interface ParamSpec {
  readonly name: string;
  readonly type: ParamType;
  /** A default makes the parameter optional; `null` means optional with no value. */
  readonly default?: number | boolean | string | readonly number[] | null;
  /** Tensor parameters: the dtypes accepted (absent: any). */
  readonly dtype?: DtypeRule;
}

export interface TensorInfo {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export type ArgValue = TensorInfo | readonly TensorInfo[] | number | boolean | string | readonly number[] | null;
export type Args = Readonly<Record<string, ArgValue>>;

export interface WeightSpec {
  readonly suffix: string; // appended to the scope: `weight`, `bias`
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Refers to an existing weight of the same name instead of creating one (tied embeddings). */
  readonly tied?: boolean;
}

export interface Inferred {
  readonly outputs: readonly TensorInfo[];
  readonly attrs?: Readonly<Record<string, AttrValue>>;
  readonly weights?: readonly WeightSpec[];
}

/** A failed inference: a catalog code and its arguments; the elaborator adds the span. */
export class OpError {
  constructor(readonly code: MessageCode, readonly args: (string | number)[]) {}
}

/**
 * FLOPs as exact integers: shapes are safe integers but their products are not (one attention op
 * at 4M tokens is ~5.6e17 > 2^53), and users rely on exact counts. Planners take a number view.
 */
export interface Cost {
  readonly gemm?: bigint; // linear and matmul: 2 FLOPs per multiply-add
  readonly conv?: bigint; // convolutions: 2 FLOPs per multiply-add
  readonly attention?: bigint; // QK^T and AV: 2 FLOPs per multiply-add
  readonly elementwise?: bigint; // everything else, per the per-element table in each op file
}

export interface CostInput {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
}

export interface OpDef {
  readonly name: string;
  readonly params: readonly ParamSpec[];
  /** True when the op may own weights, named by a scope string: `linear["fc1"](x, 4096)`. */
  readonly weighted?: boolean;
  /** True when the output aliases the input's memory (reshape, split, ...): no copy, no FLOPs. */
  readonly view?: boolean;
  /** One-line definition, shown by `mc ops`-style listings and in docs. */
  readonly doc: string;
  infer(args: Args): Inferred;
  cost(c: CostInput): Cost;
}

export function fail(code: MessageCode, ...args: (string | number)[]): never {
  throw new OpError(code, args);
}

export const shapeStr = (s: readonly number[]): string => `[${s.join(', ')}]`;

export function tensorArg(a: Args, name: string): TensorInfo {
  return a[name] as TensorInfo;
}

/** Resolves a possibly negative axis against a rank, or fails naming the op. */
export function axisOf(axis: number, rank: number, op: string): number {
  const ax = axis < 0 ? axis + rank : axis;
  if (ax < 0 || ax >= rank) fail('MC2003', `${op}: axis ${axis} is out of range for a rank-${rank} tensor`);
  return ax;
}

export function sameDtype(op: string, ts: readonly TensorInfo[]): void {
  for (const t of ts.slice(1))
    if (t.dtype !== ts[0].dtype) fail('MC2004', `${op} got ${ts[0].dtype} and ${t.dtype}; insert cast(x, dtype="${ts[0].dtype}")`);
}

/**
 * Checks every tensor argument against its parameter's dtype rule (MC2004). Runs before `infer`
 * (the registry wraps each op), so no op repeats the check.
 */
export function checkDtypes(op: string, params: readonly ParamSpec[], args: Args): void {
  for (const p of params) {
    const v = args[p.name];
    if (!p.dtype || v === null || v === undefined) continue;
    const rule = DTYPE_RULES[p.dtype];
    for (const t of (Array.isArray(v) ? v : [v]) as TensorInfo[]) {
      if (rule.dtypes.includes(t.dtype)) continue;
      const hint = p.dtype === 'float' ? `; insert cast(${p.name}, dtype="fp32")` : '';
      fail('MC2004', `${op} ${p.name} must be ${rule.what}, got ${t.dtype}${hint}`);
    }
  }
}

/** A dtype named by a string attribute (`dtype="fp32"`) must satisfy a rule too. */
export function dtypeAttr(op: string, name: string, value: string, rule: DtypeRule): DType {
  if (!DTYPE_RULES[rule].dtypes.includes(value as DType))
    fail('MC2004', `${op} ${name} must be ${DTYPE_RULES[rule].what}, got "${value}"`);
  return value as DType;
}

export function rank(op: string, t: TensorInfo, what: string, r: number): void {
  if (t.shape.length !== r) fail('MC2003', `${op}: ${what} must have rank ${r}, got ${shapeStr(t.shape)}`);
}

export const numelOf = (t: TensorInfo): number => t.shape.reduce((a, b) => a * b, 1);
/** An exact product of safe integers (element and MAC counts), for costs whose products pass 2^53. */
export const productBig = (xs: readonly number[]): bigint => xs.reduce((a, b) => a * BigInt(b), 1n);
export const numelBig = (t: TensorInfo): bigint => productBig(t.shape);
