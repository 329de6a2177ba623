// Calls one op from the table: evaluates and binds arguments, runs shape inference, creates
// (or, when tied, looks up) the weights it owns, and appends the op to the graph.
import type { Span } from '../diag/source.js';
import { tooLarge } from '../ir/types.js';
import { OPS } from '../ops/registry.js';
import { OpError, type TensorInfo, shapeStr } from '../ops/types.js';
import type * as A from '../syntax/ast.js';
import { bindArgs, type CallArg } from './bind.js';
import type { Ctx, Elaborator } from './elaborate.js';
import { POISON, type Value, isPoisoned } from './values.js';

export function callOp(el: Elaborator, e: Extract<A.Expr, { kind: 'call' }>, ctx: Ctx): Value {
  const def = OPS.get(e.callee);
  if (!def) return el.error('MC2002', e.calleeSpan, e.callee);
  if (e.scope && !def.weighted) return el.error('MC2006', e.scope.span, `${e.callee} has no weights; remove ["${e.scope.text}"]`);
  const args = e.args.map((a): CallArg => ({ key: a.key, value: el.eval(a.value, ctx) }));
  return callOpByName(el, e.callee, args, e.span, ctx, e);
}

export function callOpByName(el: Elaborator, name: string, args: CallArg[], span: Span, ctx: Ctx,
  e?: Extract<A.Expr, { kind: 'call' }>): Value {
  const def = OPS.get(name)!;
  if (args.some((a) => isPoisoned(a.value))) return POISON;
  const info = (id: number): TensorInfo => el.b.tensors[id];
  const bound = bindArgs(name, def.params, args, info);
  if (!bound.ok) return el.error(bound.code, span, ...bound.args);
  let inferred;
  try {
    inferred = def.infer(bound.args);
  } catch (err) {
    if (err instanceof OpError) return el.error(err.code, span, ...err.args);
    throw err;
  }
  // Every tensor the op makes must have an exact element count and byte size (MC2009).
  for (const t of [...inferred.outputs, ...(inferred.weights ?? [])]) {
    const big = tooLarge(t.shape, t.dtype);
    if (big) return el.error('MC2009', span, `${'suffix' in t ? `${name} weight '${t.suffix}'` : `${name} output`} ${big}`);
  }
  const weightIds: number[] = [];
  const weights = inferred.weights ?? [];
  if (weights.length > 0) {
    if (!e?.scope) return el.error('MC2006', e?.calleeSpan ?? span, `${name} owns weights: name them, as in ${name}["name"](...)`);
    const prefix = el.scopeOf(e, ctx);
    if (prefix === undefined) return POISON;
    for (const w of weights) {
      const full = `${prefix}.${w.suffix}`;
      const existing = el.b.weight(full);
      if (w.tied) {
        if (!existing) return el.error('MC2017', e.scope.span, full);
        if (existing.shape.join() !== w.shape.join())
          return el.error('MC2003', e.scope.span, `tied weight '${full}' is ${shapeStr(existing.shape)}, this use needs ${shapeStr(w.shape)}`);
        weightIds.push(existing.id);
      } else if (existing) {
        return el.error('MC2007', e.scope.span, full, el.lineOf(existing.origin));
      } else {
        weightIds.push(el.b.addWeight(full, w.shape, w.dtype, e.scope.span));
      }
    }
  }
  const outName = `${ctx.prefix ? `${ctx.prefix}/` : ''}${name}`;
  const outs = el.b.addOp(name, [...bound.tensorIds, ...weightIds],
    inferred.outputs.map((o) => ({ name: outName, shape: o.shape, dtype: o.dtype })), { ...(inferred.attrs ?? {}) }, span);
  if (outs.length === 1) return { k: 'tensor', id: outs[0] };
  return { k: 'tuple', items: outs.map((id) => ({ k: 'tensor', id })) };
}
