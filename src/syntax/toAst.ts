// CST -> AST. Runs only on a CST without syntax errors, so every child the grammar requires is
// present. Operator tokens sit in separate CST arrays (Plus, Minus), so their order is recovered
// from offsets.
import type { CstNode, IToken } from 'chevrotain';
import type { SourceFile, Span } from '../diag/source.js';
import type * as A from './ast.js';

type Kids = Record<string, (CstNode | IToken)[] | undefined>;

export function toAst(cst: CstNode, src: SourceFile): A.FileAst {
  const spanOf = (n: CstNode | IToken): Span => {
    if ('image' in n) return src.span(n.startOffset, (n.endOffset ?? n.startOffset) + 1);
    const loc = n.location;
    return src.span(loc?.startOffset ?? 0, (loc?.endOffset ?? loc?.startOffset ?? 0) + 1);
  };
  const nodes = (k: Kids, name: string): CstNode[] => (k[name] ?? []) as CstNode[];
  const toks = (k: Kids, name: string): IToken[] => (k[name] ?? []) as IToken[];
  const node = (k: Kids, name: string): CstNode => nodes(k, name)[0];
  const tok = (k: Kids, name: string): IToken => toks(k, name)[0];
  const offset = (n: CstNode | IToken): number => ('image' in n ? n.startOffset : n.location?.startOffset ?? 0);
  const inOrder = <T extends CstNode | IToken>(xs: T[]): T[] => [...xs].sort((a, b) => offset(a) - offset(b));

  function expr(n: CstNode): A.Expr {
    const k = n.children as Kids;
    const operands = nodes(k, 'term').map(term);
    const ops = inOrder([...toks(k, 'Plus'), ...toks(k, 'Minus')]);
    return foldBinary(operands, ops);
  }

  function term(n: CstNode): A.Expr {
    const k = n.children as Kids;
    const operands = nodes(k, 'unary').map(unary);
    const ops = inOrder([...toks(k, 'Star'), ...toks(k, 'SlashSlash'), ...toks(k, 'Slash'), ...toks(k, 'Percent')]);
    return foldBinary(operands, ops);
  }

  function foldBinary(operands: A.Expr[], ops: IToken[]): A.Expr {
    let acc = operands[0];
    ops.forEach((op, i) => {
      const right = operands[i + 1];
      const span = src.span(acc.span.start, right.span.end);
      acc = { kind: 'binary', op: op.image as A.BinaryOp, left: acc, right, span };
    });
    return acc;
  }

  function unary(n: CstNode): A.Expr {
    const k = n.children as Kids;
    if (k.Minus) return { kind: 'neg', operand: unary(node(k, 'unary')), span: spanOf(n) };
    return primary(node(k, 'primary'));
  }

  function primary(n: CstNode): A.Expr {
    const k = n.children as Kids;
    const span = spanOf(n);
    if (k.Int) return { kind: 'int', value: Number(tok(k, 'Int').image), span };
    if (k.Float) return { kind: 'float', value: Number(tok(k, 'Float').image), span };
    if (k.Str) return { kind: 'str', value: tok(k, 'Str').image.slice(1, -1), span };
    if (k.True) return { kind: 'bool', value: true, span };
    if (k.False) return { kind: 'bool', value: false, span };
    if (k.Ident) return { kind: 'name', name: tok(k, 'Ident').image, span };
    if (k.call) return call(node(k, 'call'));
    if (k.tuple) {
      const items = nodes(node(k, 'tuple').children as Kids, 'expr').map(expr);
      // (e) is grouping; only (a, b, ...) makes a tuple.
      return items.length === 1 ? items[0] : { kind: 'tuple', items, span };
    }
    return { kind: 'tuple', items: nodes(node(k, 'list').children as Kids, 'expr').map(expr), span };
  }

  function call(n: CstNode): A.Expr {
    const k = n.children as Kids;
    const name = tok(k, 'Ident');
    const s = toks(k, 'Str')[0];
    const scope = s && { text: s.image.slice(1, -1), span: spanOf(s) };
    const args = nodes(k, 'arg').map((a): A.Arg => {
      const ak = a.children as Kids;
      const key = toks(ak, 'key')[0];
      return { key: key?.image, keySpan: key && spanOf(key), value: expr(node(ak, 'expr')), span: spanOf(a) };
    });
    return { kind: 'call', callee: name.image, calleeSpan: spanOf(name), scope, args, span: spanOf(n) };
  }

  function dimDecl(n: CstNode): A.DimDecl {
    const k = n.children as Kids;
    return { kind: 'dim', name: tok(k, 'Ident').image, value: expr(node(k, 'expr')), span: spanOf(n) };
  }

  function assign(n: CstNode): A.Assign {
    const k = n.children as Kids;
    const targets = toks(k, 'Ident').map((t) => ({ name: t.image, span: spanOf(t) }));
    return { kind: 'assign', targets, value: expr(node(k, 'expr')), span: spanOf(n) };
  }

  function body(n: CstNode): A.Stmt[] {
    return nodes(n.children as Kids, 'stmt').map(stmt);
  }

  function stmt(n: CstNode): A.Stmt {
    const k = n.children as Kids;
    const [name, inner] = Object.entries(k)[0] as [string, CstNode[]];
    const c = inner[0].children as Kids;
    const span = spanOf(inner[0]);
    switch (name) {
      case 'dimDecl':
        return dimDecl(inner[0]);
      case 'inputDecl': {
        const dtype = tok(c, 'dtype');
        return { kind: 'input', name: tok(c, 'Ident').image, dtype: dtype.image, dtypeSpan: spanOf(dtype),
          shape: nodes(c, 'expr').map(expr), span };
      }
      case 'outputDecl': {
        const e = nodes(c, 'expr')[0];
        return { kind: 'output', name: tok(c, 'Ident').image, value: e && expr(e), span };
      }
      case 'returnStmt':
        return { kind: 'return', values: nodes(c, 'expr').map(expr), span };
      case 'repeatStmt':
        return { kind: 'repeat', count: expr(node(c, 'expr')), index: toks(c, 'Ident')[0]?.image,
          body: body(node(c, 'body')), span };
      default:
        return assign(inner[0]);
    }
  }

  const k = cst.children as Kids;
  const globals = inOrder([...nodes(k, 'dimDecl'), ...nodes(k, 'assignStmt')]).map((n) =>
    n.name === 'dimDecl' ? dimDecl(n) : assign(n));
  const blocks = nodes(k, 'blockDef').map((n): A.BlockDef => {
    const c = n.children as Kids;
    const params = nodes(c, 'param').map((p): A.Param => {
      const pk = p.children as Kids;
      const d = nodes(pk, 'expr')[0];
      return { name: tok(pk, 'Ident').image, default: d && expr(d), span: spanOf(p) };
    });
    return { kind: 'block', name: tok(c, 'Ident').image, params, body: body(node(c, 'body')), span: spanOf(n) };
  });
  const models = nodes(k, 'modelDef').map((n): A.ModelDef => {
    const c = n.children as Kids;
    return { kind: 'model', name: tok(c, 'Ident').image, body: body(node(c, 'body')), span: spanOf(n) };
  });
  const uses = nodes(k, 'useDecl').map((n): A.UseDecl => {
    const s = tok(n.children as Kids, 'Str');
    return { path: s.image.slice(1, -1), span: spanOf(s) };
  });
  return { path: src.path, uses, globals, blocks, models };
}
