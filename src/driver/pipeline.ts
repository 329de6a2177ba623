// The front half of the compiler as one call: source text -> parse (with `use`d files) ->
// elaborate -> IR. Each stage returns diagnostics instead of throwing; later stages run only on
// clean input. File reading is the caller's (the CLI's) job, passed in as `read`.
import { diag, formatDiagnostic, sortDiagnostics, type Diagnostic } from '../diag/diagnostic.js';
import type { SourceFile } from '../diag/source.js';
import { type ElabOptions, Elaborator } from '../elab/elaborate.js';
import type { Graph } from '../ir/types.js';
import { parseWithUses, type ReadFile } from '../syntax/uses.js';

export interface FrontEndResult {
  readonly sources: ReadonlyMap<string, SourceFile>;
  readonly graph?: Graph;
  readonly diagnostics: readonly Diagnostic[];
  readonly usage?: string;
}

const noFiles: ReadFile = () => ({ error: 'no file access' });

export function compileSpec(path: string, text: string, opts: ElabOptions = {}, read: ReadFile = noFiles): FrontEndResult {
  // Parse: every syntax error the recovering parser can find, in this file and the files it uses.
  const parsed = parseWithUses(path, text, read);
  if (!parsed.ast) return { sources: parsed.sources, diagnostics: parsed.diagnostics };
  // Elaborate: dims, blocks, repeats and shapes -> an immutable Graph (verified in tests).
  try {
    const r = new Elaborator(parsed.ast, parsed.sources, opts).run();
    return { sources: parsed.sources, graph: r.graph, diagnostics: r.diagnostics, usage: r.usage };
  } catch (e) {
    // A very long chain such as 1 + 1 + ... (100,000 terms) nests the AST deeper than the stack.
    if (!(e instanceof RangeError)) throw e;
    const diagnostics = [diag('MC2013', { file: path, start: 0, end: 0 }, 'an expression is too long to evaluate')];
    return { sources: parsed.sources, diagnostics };
  }
}

/** All diagnostics in position order, each with its source line and caret. */
export function formatDiagnostics(r: FrontEndResult): string {
  return sortDiagnostics(r.diagnostics)
    .map((d) => {
      const src = r.sources.get(d.span.file);
      return src ? formatDiagnostic(d, src) : `${d.span.file} - ${d.severity} ${d.code}: ${d.message}`;
    })
    .join('\n\n');
}
