// The front half of the compiler as one call: source text -> parse -> elaborate -> IR.
// Each stage returns diagnostics instead of throwing; later stages run only on clean input.
import type { Diagnostic } from '../diag/diagnostic.js';
import { SourceFile } from '../diag/source.js';
import { type ElabOptions, Elaborator } from '../elab/elaborate.js';
import type { Graph } from '../ir/types.js';
import { parse } from '../syntax/parse.js';

export interface FrontEndResult {
  readonly source: SourceFile;
  readonly graph?: Graph;
  readonly diagnostics: readonly Diagnostic[];
  readonly usage?: string;
}

export function compileSpec(path: string, text: string, opts: ElabOptions = {}): FrontEndResult {
  const source = new SourceFile(path, text);
  // Parse: every syntax error the recovering parser can find, in one run.
  const parsed = parse(source);
  if (!parsed.ast) return { source, diagnostics: parsed.diagnostics };
  // Elaborate: dims, blocks, repeats and shapes -> an immutable, verified-by-tests Graph.
  const r = new Elaborator(parsed.ast, source, opts).run();
  return { source, graph: r.graph, diagnostics: r.diagnostics, usage: r.usage };
}
