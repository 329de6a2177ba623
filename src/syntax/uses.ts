// Resolves `use "file.mc"`: parses the used files (recursively) and merges them into one AST.
// The using file's definitions win: a dim it redeclares replaces the used file's declaration in
// place (so values derived from that dim see the new default), and a block or model of the same
// name replaces the used one. I/O goes through the `read` callback; this module does none itself.
import { posix } from 'node:path';
import { diag, type Diagnostic } from '../diag/diagnostic.js';
import { SourceFile } from '../diag/source.js';
import type * as A from './ast.js';
import { parse } from './parse.js';

export type ReadFile = (path: string) => string | { error: string };

export interface Resolved {
  readonly ast?: A.FileAst;
  readonly sources: ReadonlyMap<string, SourceFile>;
  readonly diagnostics: readonly Diagnostic[];
}

export function parseWithUses(path: string, text: string, read: ReadFile): Resolved {
  const sources = new Map<string, SourceFile>();
  const diagnostics: Diagnostic[] = [];

  function load(file: string, body: string, chain: string[]): A.FileAst | undefined {
    const src = new SourceFile(file, body);
    sources.set(file, src);
    const r = parse(src);
    diagnostics.push(...r.diagnostics);
    if (!r.ast) return undefined;
    let merged: A.FileAst = { ...r.ast, uses: [] };
    // Later uses win over earlier ones; the file itself wins over all of them.
    for (const u of [...r.ast.uses].reverse()) {
      // Relative paths are relative to the using file; absolute ones are taken as they are.
      const target = posix.normalize(posix.isAbsolute(u.path) ? u.path : posix.join(posix.dirname(file), u.path));
      if (chain.includes(target)) {
        diagnostics.push(diag('MC1008', u.span, u.path, [...chain, target].join(' -> ')));
        continue;
      }
      const got = read(target);
      if (typeof got !== 'string') {
        diagnostics.push(diag('MC1007', u.span, target, got.error));
        continue;
      }
      const used = load(target, got, [...chain, target]);
      if (used) merged = overlay(used, merged);
    }
    return merged;
  }

  const ast = load(path, text, [path]);
  return { ast: diagnostics.length === 0 ? ast : undefined, sources, diagnostics };
}

/** `top` over `base`: top's dims replace base's in place; top's other items follow base's. */
function overlay(base: A.FileAst, top: A.FileAst): A.FileAst {
  const topDims = new Map(top.globals.filter((g): g is A.DimDecl => g.kind === 'dim').map((d) => [d.name, d]));
  const replaced = new Set<string>();
  const globals = base.globals.map((g) => {
    const over = g.kind === 'dim' ? topDims.get(g.name) : undefined;
    if (!over) return g;
    replaced.add(over.name);
    return over;
  });
  globals.push(...top.globals.filter((g) => g.kind !== 'dim' || !replaced.has(g.name)));
  const names = (xs: readonly { name: string }[]): Set<string> => new Set(xs.map((x) => x.name));
  const topBlocks = names(top.blocks);
  const topModels = names(top.models);
  return {
    path: top.path,
    uses: [],
    globals,
    blocks: [...base.blocks.filter((b) => !topBlocks.has(b.name)), ...top.blocks],
    // The using file's models come first, so its first model is the default.
    models: [...top.models, ...base.models.filter((m) => !topModels.has(m.name))],
  };
}
