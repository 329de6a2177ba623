// The abstract syntax tree: what the user wrote, with a span on every node and no meaning
// attached yet (elab/ gives it meaning). All fields are readonly; nodes are built once by toAst.ts.
import type { Span } from '../diag/source.js';

export type Expr =
  | { readonly kind: 'int'; readonly value: number; readonly span: Span }
  | { readonly kind: 'float'; readonly value: number; readonly span: Span }
  | { readonly kind: 'str'; readonly value: string; readonly span: Span }
  | { readonly kind: 'bool'; readonly value: boolean; readonly span: Span }
  | { readonly kind: 'name'; readonly name: string; readonly span: Span }
  | { readonly kind: 'neg'; readonly operand: Expr; readonly span: Span }
  | { readonly kind: 'binary'; readonly op: BinaryOp; readonly left: Expr; readonly right: Expr; readonly span: Span }
  | { readonly kind: 'tuple'; readonly items: readonly Expr[]; readonly span: Span }
  | { readonly kind: 'call'; readonly callee: string; readonly calleeSpan: Span; readonly scope?: ScopeString;
      readonly args: readonly Arg[]; readonly span: Span };

export type BinaryOp = '+' | '-' | '*' | '/' | '//' | '%';

/** A weight scope such as "double_blocks.{i}"; `{name}` parts are replaced by integer values. */
export interface ScopeString {
  readonly text: string;
  readonly span: Span;
}

export interface Arg {
  readonly key?: string;
  readonly keySpan?: Span;
  readonly value: Expr;
  readonly span: Span;
}

export type Stmt =
  | DimDecl
  | { readonly kind: 'input'; readonly name: string; readonly dtype: string; readonly dtypeSpan: Span;
      readonly shape: readonly Expr[]; readonly span: Span }
  | { readonly kind: 'output'; readonly name: string; readonly value?: Expr; readonly span: Span }
  | { readonly kind: 'return'; readonly values: readonly Expr[]; readonly span: Span }
  | { readonly kind: 'repeat'; readonly count: Expr; readonly index?: string; readonly body: readonly Stmt[];
      readonly span: Span }
  | Assign;

export interface DimDecl {
  readonly kind: 'dim';
  readonly name: string;
  readonly value: Expr;
  readonly span: Span;
}

export interface Assign {
  readonly kind: 'assign';
  readonly targets: readonly { readonly name: string; readonly span: Span }[];
  readonly value: Expr;
  readonly span: Span;
}

export interface Param {
  readonly name: string;
  readonly default?: Expr;
  readonly span: Span;
}

export interface BlockDef {
  readonly kind: 'block';
  readonly name: string;
  readonly params: readonly Param[];
  readonly body: readonly Stmt[];
  readonly span: Span;
}

export interface ModelDef {
  readonly kind: 'model';
  readonly name: string;
  readonly body: readonly Stmt[];
  readonly span: Span;
}

export interface UseDecl {
  readonly path: string; // as written, relative to the file that says it
  readonly span: Span;
}

export interface FileAst {
  readonly path: string;
  readonly uses: readonly UseDecl[];
  readonly globals: readonly (DimDecl | Assign)[];
  readonly blocks: readonly BlockDef[];
  readonly models: readonly ModelDef[];
}
