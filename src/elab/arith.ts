// Integer dim arithmetic (exact: `/` must divide evenly, `//` floors), float arithmetic for
// attributes such as eps, and tensor + - * as the add/sub/mul ops.
import type * as A from '../syntax/ast.js';
import { callOpByName } from './callOp.js';
import type { Ctx, Elaborator } from './elaborate.js';
import { type Env, POISON, type Value, describe, int, isPoisoned } from './values.js';

const TENSOR_OPS: Partial<Record<A.BinaryOp, string>> = { '+': 'add', '-': 'sub', '*': 'mul' };

export function evalBinary(el: Elaborator, e: Extract<A.Expr, { kind: 'binary' }>, l: Value, r: Value, ctx: Ctx): Value {
  if (isPoisoned(l) || isPoisoned(r)) return POISON;
  if (l.k === 'tensor' && r.k === 'tensor') {
    const op = TENSOR_OPS[e.op];
    if (!op) return el.error('MC2010', e.span, `numbers for '${e.op}' (tensors support + - *)`, 'tensors');
    return callOpByName(el, op, [{ value: l }, { value: r }], e.span, ctx);
  }
  if (l.k === 'int' && r.k === 'int') return intOp(el, e, l.v, r.v);
  if ((l.k === 'int' || l.k === 'float') && (r.k === 'int' || r.k === 'float')) {
    const [a, b] = [l.v, r.v];
    const v = { '+': a + b, '-': a - b, '*': a * b, '/': a / b, '//': Math.floor(a / b), '%': a % b }[e.op];
    return Number.isFinite(v) ? { k: 'float', v } : el.error('MC2009', e.span, `${a} ${e.op} ${b} is not a finite number`);
  }
  const bad = l.k === 'int' || l.k === 'float' ? r : l;
  return el.error('MC2010', bad === l ? e.left.span : e.right.span, `a number (or two tensors) for '${e.op}'`, describe(bad));
}

function intOp(el: Elaborator, e: Extract<A.Expr, { kind: 'binary' }>, a: number, b: number): Value {
  if ((e.op === '/' || e.op === '//' || e.op === '%') && b === 0) return el.error('MC2009', e.right.span, `division of ${a} by zero`);
  if (e.op === '/' && a % b !== 0) return el.error('MC2005', e.span, a, b);
  const v = { '+': a + b, '-': a - b, '*': a * b, '/': a / b, '//': Math.floor(a / b), '%': ((a % b) + b) % b }[e.op];
  return Number.isSafeInteger(v) ? int(v) : el.error('MC2009', e.span, `${a} ${e.op} ${b} overflows exact integer range`);
}

/**
 * Replaces `{name}` in a weight scope with the integer bound to name. The result must be a
 * dotted path of [A-Za-z0-9_] parts, so weight names are safe to use as identifiers downstream.
 */
export function interpolate(el: Elaborator, s: A.ScopeString, env: Env): string | undefined {
  let failed = false;
  const out = s.text.replace(/\{([^}]*)\}/g, (_, name: string) => {
    const v = env.lookup(name.trim());
    if (v?.k === 'int') return String(v.v);
    failed = true;
    if (!v) el.error('MC2001', s.span, name.trim());
    else if (!isPoisoned(v)) el.error('MC2010', s.span, `an integer for {${name}}`, describe(v));
    return '';
  });
  if (failed) return undefined;
  if (!/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/.test(out)) {
    el.error('MC2006', s.span, `weight scope "${out}" must be dot-separated names of letters, digits and _`);
    return undefined;
  }
  return out;
}
