// Binds call arguments (positional, then keyword) to an op's parameter list and checks each
// value's type. Returns the bound record or a message for MC2006/MC2010.
import type { ArgValue, ParamSpec, TensorInfo } from '../ops/types.js';
import { describe, type Value } from './values.js';

export interface CallArg {
  readonly key?: string;
  readonly value: Value;
}

export type BindResult =
  | { ok: true; args: Record<string, ArgValue>; tensorIds: number[] }
  | { ok: false; code: 'MC2006' | 'MC2010'; args: string[] };

export function bindArgs(op: string, params: readonly ParamSpec[], call: readonly CallArg[],
  info: (id: number) => TensorInfo): BindResult {
  const raw = new Map<string, Value | Value[]>();
  const variadic = params.find((p) => p.type === 'tensors');
  let pos = 0;
  for (const a of call) {
    if (a.key !== undefined) {
      if (!params.some((p) => p.name === a.key))
        return { ok: false, code: 'MC2006', args: [`${op}: unknown argument '${a.key}'; it takes ${params.map((p) => p.name).join(', ')}`] };
      if (raw.has(a.key)) return { ok: false, code: 'MC2006', args: [`${op}: argument '${a.key}' is given twice`] };
      raw.set(a.key, a.value);
      continue;
    }
    if (variadic && a.value.k === 'tensor' && pos === params.indexOf(variadic)) {
      const list = (raw.get(variadic.name) as Value[] | undefined) ?? [];
      raw.set(variadic.name, [...list, a.value]);
      continue;
    }
    if (variadic && pos === params.indexOf(variadic)) pos++;
    const p = params[pos++];
    if (!p) return { ok: false, code: 'MC2006', args: [`${op} takes at most ${params.length} arguments`] };
    if (raw.has(p.name)) return { ok: false, code: 'MC2006', args: [`${op}: argument '${p.name}' is given twice`] };
    raw.set(p.name, a.value);
  }

  const args: Record<string, ArgValue> = {};
  const tensorIds: number[] = [];
  for (const p of params) {
    const v = raw.get(p.name);
    if (v === undefined) {
      if (p.default === undefined) return { ok: false, code: 'MC2006', args: [`${op}: missing argument '${p.name}'`] };
      args[p.name] = p.default;
      continue;
    }
    const conv = convert(p, v, info, tensorIds);
    if (typeof conv === 'string') return { ok: false, code: 'MC2010', args: [`${conv} for '${p.name}' of ${op}`, describe(Array.isArray(v) ? v[0] : v)] };
    args[p.name] = conv.value;
  }
  return { ok: true, args, tensorIds };
}

// Returns the converted value, or the expected-type phrase on mismatch.
function convert(p: ParamSpec, v: Value | Value[], info: (id: number) => TensorInfo, ids: number[]): { value: ArgValue } | string {
  if (Array.isArray(v)) {
    const tensors = v.map((x) => (x.k === 'tensor' ? x.id : -1));
    if (tensors.includes(-1)) return 'tensors';
    ids.push(...tensors);
    return { value: tensors.map(info) };
  }
  switch (p.type) {
    case 'tensor':
    case 'tensors':
      if (v.k !== 'tensor') return 'a tensor';
      ids.push(v.id);
      return { value: p.type === 'tensor' ? info(v.id) : [info(v.id)] };
    case 'int':
      return v.k === 'int' ? { value: v.v } : 'an integer';
    case 'float':
      return v.k === 'int' || v.k === 'float' ? { value: v.v } : 'a number';
    case 'bool':
      return v.k === 'bool' ? { value: v.v } : 'true or false';
    case 'str':
      return v.k === 'str' ? { value: v.v } : 'a string';
    case 'ints':
      if (v.k === 'int') return { value: [v.v] };
      if (v.k === 'tuple' && v.items.every((x) => x.k === 'int')) return { value: v.items.map((x) => (x as { v: number }).v) };
      return 'integers (n or (a, b, ...))';
  }
}
