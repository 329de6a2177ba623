// AST -> IR. Evaluates dims (with --set overrides), unrolls `repeat`, instantiates blocks with
// their weight scopes, and runs each op's shape inference. Each top-level block call becomes one
// layer. Errors become diagnostics and poison values; nothing here throws to the caller.
import { diag, type Diagnostic } from '../diag/diagnostic.js';
import type { MessageCode } from '../diag/messages.js';
import type { SourceFile, Span } from '../diag/source.js';
import { DTYPES, type DType, type Graph, tooLarge } from '../ir/types.js';
import type * as A from '../syntax/ast.js';
import { GraphBuilder } from './builder.js';
import { evalBinary, interpolate } from './arith.js';
import { callOp } from './callOp.js';
import { Env, POISON, type Value, describe, int, isPoisoned } from './values.js';

export interface ElabOptions {
  readonly model?: string;
  readonly set?: Readonly<Record<string, number>>;
  /** Guards against specs (or fuzzed inputs) that would unroll into an absurd graph. */
  readonly maxOps?: number;
}

export interface ElabResult {
  readonly graph?: Graph;
  readonly diagnostics: readonly Diagnostic[];
  /** A problem with the command line rather than the spec (unknown --model or --set name). */
  readonly usage?: string;
}

const MAX_REPEAT = 100_000;
const MAX_DEPTH = 64;

class TooLarge {}

/** Where statements run: the environment, the weight-name prefix, and what kind of body it is. */
interface Ctx {
  readonly env: Env;
  readonly prefix: string;
  readonly where: 'model' | 'block';
  readonly stack: readonly string[]; // block names being instantiated, for recursion checks
  returned?: Value;
}

export class Elaborator {
  readonly diagnostics: Diagnostic[] = [];
  readonly b = new GraphBuilder();
  private readonly blocks = new Map<string, A.BlockDef>();
  private readonly dims: Record<string, number> = {};
  private readonly dimNames = new Map<string, Span>();
  private readonly globals = new Env();
  private readonly unnamed = new Map<string, number>();
  /**
   * The model's input and output names (the IR's tensor names for them): the tensor, where the name
   * was first declared, and where it was marked as an output (an input passed through: `output x`).
   */
  private readonly io = new Map<string, { id: number; span: Span; output?: Span }>();

  constructor(private readonly ast: A.FileAst, private readonly sources: ReadonlyMap<string, SourceFile>,
    private readonly opts: ElabOptions) {}

  /** 1-based line of a span, for messages that point back at an earlier definition. */
  lineOf(span: Span): number {
    return this.sources.get(span.file)?.position(span.start).line ?? 0;
  }

  error(code: MessageCode, span: Span, ...args: (string | number)[]): Value {
    this.diagnostics.push(diag(code, span, ...args));
    return POISON;
  }

  run(): ElabResult {
    const { ast, opts } = this;
    const seen = new Map<string, Span>();
    for (const d of [...ast.blocks, ...ast.models]) {
      const first = seen.get(d.name);
      if (first) this.error('MC2008', d.span, d.name, this.lineOf(first));
      else seen.set(d.name, d.span);
      if (d.kind === 'block' && !first) this.blocks.set(d.name, d);
    }
    for (const d of [...ast.blocks, ...ast.models]) this.checkPlacement(d.body, d.kind);
    if (ast.models.length === 0) return { diagnostics: [diag('MC2014', { file: ast.path, start: 0, end: 0 })] };
    const model = opts.model === undefined ? ast.models[0] : ast.models.find((m) => m.name === opts.model);
    if (!model) return { diagnostics: [], usage: `unknown model '${opts.model}': this file defines ${ast.models.map((m) => m.name).join(', ')}` };

    const top: Ctx = { env: this.globals, prefix: '', where: 'model', stack: [] };
    for (const g of ast.globals) this.exec(g, top);
    const ctx: Ctx = { env: new Env(this.globals), prefix: '', where: 'model', stack: [] };
    try {
      for (const s of model.body) this.exec(s, ctx);
    } catch (e) {
      if (!(e instanceof TooLarge)) throw e;
      this.error('MC2013', model.span, `more than ${opts.maxOps ?? 2_000_000} ops`);
    }
    const unknown = Object.keys(opts.set ?? {}).filter((k) => !this.dimNames.has(k));
    if (unknown.length > 0) return { diagnostics: [], usage: `unknown dim '${unknown[0]}' in --set: this model's dims are ${[...this.dimNames.keys()].join(', ') || 'none'}` };
    if (this.diagnostics.length === 0 && !model.body.some((s) => s.kind === 'output')) this.error('MC2011', model.span, model.name);
    const diagnostics = dedupe(this.diagnostics);
    if (diagnostics.length > 0) return { diagnostics };
    // A run of model-level ops outside blocks is named after the variable it finally assigns.
    const graph = this.b.build(model.name, this.dims, (l) => this.b.tensors[this.b.ops[l.ops[l.ops.length - 1]].outputs[0]].name);
    return { graph, diagnostics };
  }

  /**
   * Statements that belong elsewhere (an input in a block, a return in a model) are reported for
   * every block, used or not; exec then skips them.
   */
  private checkPlacement(body: readonly A.Stmt[], where: 'model' | 'block'): void {
    for (const s of body) {
      if (s.kind === 'repeat') this.checkPlacement(s.body, where);
      else if (misplaced(s, where)) this.error('MC2006', s.span, misplaced(s, where)!);
    }
  }

  exec(s: A.Stmt, ctx: Ctx): void {
    if (misplaced(s, ctx.where)) return; // reported by checkPlacement
    if (ctx.returned) return;
    switch (s.kind) {
      case 'dim': return this.execDim(s, ctx);
      case 'input': return this.execInput(s, ctx);
      case 'output': return this.execOutput(s, ctx);
      case 'return':
        ctx.returned = s.values.length === 1 ? this.eval(s.values[0], ctx) : { k: 'tuple', items: s.values.map((v) => this.eval(v, ctx)) };
        return;
      case 'repeat': return this.execRepeat(s, ctx);
      case 'assign': return this.execAssign(s, ctx);
    }
  }

  private execDim(s: A.DimDecl, ctx: Ctx): void {
    const first = this.dimNames.get(s.name);
    if (first) { this.error('MC2008', s.span, s.name, this.lineOf(first)); return; }
    this.dimNames.set(s.name, s.span);
    const override = this.opts.set?.[s.name];
    let v = this.eval(s.value, ctx);
    if (override !== undefined) v = int(override);
    if (v.k === 'int') this.dims[s.name] = v.v;
    else if (!isPoisoned(v)) v = this.error('MC2010', s.value.span, `an integer for dim '${s.name}'`, describe(v));
    ctx.env.set(s.name, v);
  }

  private execInput(s: Extract<A.Stmt, { kind: 'input' }>, ctx: Ctx): void {
    if (!DTYPES.includes(s.dtype as DType)) {
      ctx.env.set(s.name, this.error('MC2010', s.dtypeSpan, `a dtype (${DTYPES.join(', ')})`, `'${s.dtype}'`));
      return;
    }
    const shape: number[] = [];
    for (const e of s.shape) {
      const v = this.eval(e, ctx);
      if (v.k === 'int' && v.v > 0) shape.push(v.v);
      else if (!isPoisoned(v)) this.error(v.k === 'int' ? 'MC2009' : 'MC2010', e.span, v.k === 'int' ? `axis sizes must be positive, got ${v.v}` : 'an integer axis size', describe(v));
    }
    if (shape.length !== s.shape.length) { ctx.env.set(s.name, POISON); return; }
    const first = this.io.get(s.name);
    if (first) { ctx.env.set(s.name, this.error('MC2008', s.span, s.name, this.lineOf(first.span))); return; }
    const big = tooLarge(shape, s.dtype as DType);
    if (big) { ctx.env.set(s.name, this.error('MC2009', s.span, `input '${s.name}' ${big}`)); return; }
    const id = this.b.addInput(s.name, shape, s.dtype as DType, s.span);
    this.io.set(s.name, { id, span: s.span });
    ctx.env.set(s.name, { k: 'tensor', id });
  }

  /**
   * Marks a model output. Inputs and outputs are looked up by name (eval, compiled programs), so
   * each name is declared once; `output x` of input x passes the input through under its own name.
   * A tensor has one name: outputting an input or an output again under a new name is an error.
   * A name declared twice is reported at the second declaration and poisoned after it.
   */
  private execOutput(s: Extract<A.Stmt, { kind: 'output' }>, ctx: Ctx): void {
    const v = s.value ? this.eval(s.value, ctx) : ctx.env.lookup(s.name) ?? this.error('MC2001', s.span, s.name);
    ctx.env.set(s.name, v);
    if (v.k !== 'tensor') {
      if (!isPoisoned(v)) this.error('MC2010', s.value?.span ?? s.span, 'a tensor for an output', describe(v));
      return;
    }
    const first = this.io.get(s.name);
    if (first && (first.output || first.id !== v.id)) {
      ctx.env.set(s.name, this.error('MC2008', s.span, s.name, this.lineOf(first.output ?? first.span)));
      return;
    }
    const t = this.b.tensors[v.id];
    if (!first && (t.kind === 'input' || t.kind === 'output')) {
      const named = this.io.get(t.name);
      const at = t.kind === 'output' ? named?.output : named?.span;
      this.error('MC2019', s.span, s.name, t.kind, t.name, this.lineOf(at ?? t.origin));
      return;
    }
    this.b.markOutput(v.id, s.name);
    if (first) first.output = s.span;
    else this.io.set(s.name, { id: v.id, span: s.span, output: s.span });
  }

  private execRepeat(s: Extract<A.Stmt, { kind: 'repeat' }>, ctx: Ctx): void {
    const n = this.eval(s.count, ctx);
    if (n.k !== 'int') { if (!isPoisoned(n)) this.error('MC2010', s.count.span, 'an integer repeat count', describe(n)); return; }
    if (n.v < 0 || n.v > MAX_REPEAT) { this.error('MC2009', s.count.span, `repeat count must be 0..${MAX_REPEAT}, got ${n.v}`); return; }
    for (let i = 0; i < n.v && !ctx.returned; i++) {
      if (s.index) ctx.env.set(s.index, int(i));
      for (const st of s.body) this.exec(st, ctx);
    }
  }

  private execAssign(s: A.Assign, ctx: Ctx): void {
    const v = this.eval(s.value, ctx);
    const n = s.targets.length;
    if (n === 1) return this.bind(s.targets[0].name, v, ctx);
    if (isPoisoned(v) && v.k !== 'tuple') { s.targets.forEach((t) => ctx.env.set(t.name, POISON)); return; }
    if (v.k !== 'tuple' || v.items.length !== n) {
      this.error('MC2018', s.value.span, v.k === 'tuple' ? v.items.length : 1, n);
      s.targets.forEach((t) => ctx.env.set(t.name, POISON));
      return;
    }
    s.targets.forEach((t, i) => this.bind(t.name, v.items[i], ctx));
  }

  private bind(name: string, v: Value, ctx: Ctx): void {
    if (v.k === 'tensor') this.b.nameActivation(v.id, ctx.prefix ? `${ctx.prefix}/${name}` : name);
    ctx.env.set(name, v);
  }

  eval(e: A.Expr, ctx: Ctx): Value {
    switch (e.kind) {
      case 'int': return Number.isSafeInteger(e.value) ? int(e.value) : this.error('MC2009', e.span, `${e.value} is too large`);
      case 'float': return { k: 'float', v: e.value };
      case 'str': return { k: 'str', v: e.value };
      case 'bool': return { k: 'bool', v: e.value };
      case 'name': return ctx.env.lookup(e.name) ?? this.error('MC2001', e.span, e.name);
      case 'tuple': return { k: 'tuple', items: e.items.map((x) => this.eval(x, ctx)) };
      case 'neg': {
        const v = this.eval(e.operand, ctx);
        if (v.k === 'int' || v.k === 'float') return { ...v, v: -v.v };
        return isPoisoned(v) ? POISON : this.error('MC2010', e.operand.span, 'a number to negate', describe(v));
      }
      case 'binary': return evalBinary(this, e, this.eval(e.left, ctx), this.eval(e.right, ctx), ctx);
      case 'call': return this.call(e, ctx);
    }
  }

  private call(e: Extract<A.Expr, { kind: 'call' }>, ctx: Ctx): Value {
    if (this.b.opCount > (this.opts.maxOps ?? 2_000_000)) throw new TooLarge();
    if (e.callee === 'min' || e.callee === 'max') return this.minMax(e, ctx);
    if (e.callee === 'size') return this.size(e, ctx);
    const block = this.blocks.get(e.callee);
    if (block) return this.instantiate(block, e, ctx);
    return callOp(this, e, ctx);
  }

  /** Weight prefix for a call: the caller's prefix joined with the interpolated scope string. */
  scopeOf(e: Extract<A.Expr, { kind: 'call' }>, ctx: Ctx): string | undefined {
    if (!e.scope) return ctx.prefix;
    const s = interpolate(this, e.scope, ctx.env);
    return s === undefined ? undefined : ctx.prefix ? `${ctx.prefix}.${s}` : s;
  }

  private minMax(e: Extract<A.Expr, { kind: 'call' }>, ctx: Ctx): Value {
    const vs = e.args.map((a) => this.eval(a.value, ctx));
    if (vs.some(isPoisoned)) return POISON;
    const bad = vs.findIndex((v) => v.k !== 'int');
    if (bad >= 0 || vs.length === 0) return this.error('MC2010', e.span, `integers for ${e.callee}`, vs[bad] ? describe(vs[bad]) : 'nothing');
    const xs = vs.map((v) => (v as { v: number }).v);
    return int(e.callee === 'min' ? Math.min(...xs) : Math.max(...xs));
  }

  /** size(x, axis): the length of one axis of a tensor, as an integer. */
  private size(e: Extract<A.Expr, { kind: 'call' }>, ctx: Ctx): Value {
    const [x, axis] = e.args.map((a) => this.eval(a.value, ctx));
    if (e.args.length !== 2 || e.args.some((a) => a.key)) return this.error('MC2006', e.span, 'size takes two arguments: size(x, axis)');
    if (isPoisoned(x) || isPoisoned(axis)) return POISON;
    if (x.k !== 'tensor') return this.error('MC2010', e.args[0].span, 'a tensor for size', describe(x));
    if (axis.k !== 'int') return this.error('MC2010', e.args[1].span, 'an integer axis for size', describe(axis));
    const shape = this.b.tensors[x.id].shape;
    const ax = axis.v < 0 ? axis.v + shape.length : axis.v;
    if (ax < 0 || ax >= shape.length) return this.error('MC2003', e.args[1].span, `axis ${axis.v} is out of range for [${shape.join(', ')}]`);
    return int(shape[ax]);
  }

  private instantiate(block: A.BlockDef, e: Extract<A.Expr, { kind: 'call' }>, ctx: Ctx): Value {
    if (ctx.stack.includes(block.name)) return this.error('MC2012', e.calleeSpan, block.name, [...ctx.stack, block.name].join(' -> '));
    if (ctx.stack.length >= MAX_DEPTH) return this.error('MC2013', e.span, `blocks nested deeper than ${MAX_DEPTH}`);
    const env = new Env(this.globals);
    let pos = 0;
    for (const a of e.args) {
      const p = a.key === undefined ? block.params[pos++] : block.params.find((q) => q.name === a.key);
      if (!p) return this.error('MC2006', a.span, a.key === undefined
        ? `${block.name} takes ${block.params.length} argument${block.params.length === 1 ? '' : 's'}` : `${block.name} has no parameter '${a.key}'`);
      if (env.hasOwn(p.name)) return this.error('MC2006', a.span, `${block.name}: argument '${p.name}' is given twice`);
      env.set(p.name, this.eval(a.value, ctx));
    }
    for (const p of block.params) {
      if (env.hasOwn(p.name)) continue;
      if (!p.default) return this.error('MC2006', e.span, `${block.name}: missing argument '${p.name}'`);
      env.set(p.name, this.eval(p.default, { env: this.globals, prefix: '', where: 'block', stack: [] }));
    }
    const prefix = this.scopeOf(e, ctx);
    if (prefix === undefined) return POISON;
    const inner: Ctx = { env, prefix, where: 'block', stack: [...ctx.stack, block.name] };
    const isLayer = ctx.where === 'model';
    if (isLayer) {
      // An unscoped top-level block is named after the block (numbered when it recurs).
      const k = this.unnamed.get(block.name) ?? 0;
      this.unnamed.set(block.name, k + 1);
      this.b.beginLayer(prefix || (k === 0 ? block.name : `${block.name}.${k}`), block.name);
    }
    for (const s of block.body) this.exec(s, inner);
    if (isLayer) this.b.endLayer();
    return inner.returned ?? { k: 'tuple', items: [] };
  }
}

function misplaced(s: A.Stmt, where: 'model' | 'block'): string | undefined {
  if (where === 'block') {
    if (s.kind === 'dim') return 'dims belong at file or model level, not in a block; pass the value as a block parameter';
    if (s.kind === 'input') return "'input' belongs in a model; blocks take tensors as parameters";
    if (s.kind === 'output') return "'output' belongs in a model; blocks use 'return'";
  } else if (s.kind === 'return') {
    return "'return' belongs in a block; a model marks results with 'output'";
  }
  return undefined;
}

// One mistake inside a block instantiated 60 times is reported once.
function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const key = `${d.span.start}:${d.span.end}:${d.code}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export type { Ctx };
