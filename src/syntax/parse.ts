// The front end's one entry point: text -> AST plus diagnostics. Never throws: Chevrotain's lexing
// errors and recognition exceptions are converted to MC1xxx diagnostics at this boundary.
import type { IRecognitionException, IToken } from 'chevrotain';
import { diag, type Diagnostic } from '../diag/diagnostic.js';
import type { SourceFile } from '../diag/source.js';
import type { FileAst } from './ast.js';
import { getParser } from './parser.js';
import { Str, UnterminatedStr, mcLexer } from './tokens.js';
import { toAst } from './toAst.js';

export interface ParseResult {
  readonly ast?: FileAst; // present only when there are no diagnostics
  readonly diagnostics: readonly Diagnostic[];
}

export function parse(src: SourceFile): ParseResult {
  const diagnostics: Diagnostic[] = [];
  const lexed = mcLexer.tokenize(src.text);
  for (const e of lexed.errors) {
    const ch = src.text[e.offset] ?? '';
    diagnostics.push(diag('MC1001', src.span(e.offset, e.offset + Math.max(1, e.length)), printable(ch)));
  }
  const tokens = lexed.tokens.map((t) => {
    if (t.tokenType !== UnterminatedStr) return t;
    diagnostics.push(diag('MC1006', src.span(t.startOffset, t.startOffset + t.image.length)));
    return { ...t, image: `${t.image}"`, tokenType: Str, tokenTypeIdx: Str.tokenTypeIdx! };
  });
  // The parser is recursive descent: bound the nesting before it can exhaust the stack.
  const tooDeep = deepest(tokens);
  if (tooDeep) {
    const span = src.span(tooDeep.startOffset, tooDeep.startOffset + tooDeep.image.length);
    return { diagnostics: [...diagnostics, diag('MC1009', span, MAX_NESTING)] };
  }
  const parser = getParser();
  parser.input = tokens;
  const cst = parser.file();
  for (const e of parser.errors) diagnostics.push(recognitionDiagnostic(e, src));
  if (diagnostics.length > 0) return { diagnostics: dedupe(diagnostics) };
  return { ast: toAst(cst, src), diagnostics };
}

const MAX_NESTING = 256;
const OPENERS = new Set(['(', '[', '{']);
const CLOSERS = new Set([')', ']', '}']);

/** The first token at which brackets plus a run of unary signs nest deeper than MAX_NESTING. */
function deepest(tokens: readonly IToken[]): IToken | undefined {
  let depth = 0;
  let signs = 0;
  for (const t of tokens) {
    if (OPENERS.has(t.image)) depth++;
    else if (CLOSERS.has(t.image)) depth = Math.max(0, depth - 1);
    signs = t.image === '-' ? signs + 1 : 0;
    if (depth + signs > MAX_NESTING) return t;
  }
  return undefined;
}

function recognitionDiagnostic(e: IRecognitionException, src: SourceFile): Diagnostic {
  const t = e.token;
  const atEnd = t.tokenType?.name === 'EOF' || Number.isNaN(t.startOffset);
  const start = atEnd ? src.text.length : t.startOffset;
  const span = src.span(start, atEnd ? start : (t.endOffset ?? start) + 1);
  const found = atEnd ? 'end of file' : `'${t.image}'`;
  const expected = expectedFrom(e.message);
  switch (e.name) {
    case 'MismatchedTokenException':
      return diag('MC1002', span, expected, found);
    case 'EarlyExitException':
      return diag('MC1004', span, expected, found);
    case 'NotAllInputParsedException':
      return diag('MC1005', span, found);
    default:
      return diag('MC1003', span, found, expected);
  }
}

// Chevrotain's messages list the expected token labels; keep that part, drop its phrasing.
function expectedFrom(message: string): string {
  const one = /Expecting (?:token of type )?--> (.+?) <--/.exec(message);
  if (one) return label(one[1]);
  const alts = [...message.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1].split(/,\s*/).map(label).join(' '));
  const uniq = [...new Set(alts.filter((a) => a.length > 0))];
  // The alternatives of `primary` are every way an expression can start; name them as one.
  if (uniq.includes('integer') && uniq.includes('a name')) return 'an expression';
  if (uniq.length === 1) return uniq[0];
  return uniq.length > 0 ? `one of ${uniq.slice(0, 8).join(', ')}` : 'a different token';
}

function label(name: string): string {
  const n = name.trim();
  if (n.startsWith("'")) return n;
  return { Ident: 'a name', Int: 'an integer', Float: 'a number', Str: 'a string', EOF: 'end of file' }[n] ?? n;
}

function printable(ch: string): string {
  const code = ch.charCodeAt(0);
  return code < 32 || code > 126 ? `\\u${code.toString(16).padStart(4, '0')}` : ch;
}

// Recovery can report the same token twice (once per enclosing rule); keep the first.
function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const key = `${d.span.start}:${d.code}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

