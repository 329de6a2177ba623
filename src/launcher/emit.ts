// Emits DIR/launcher.ts and DIR/launcher.js with the TypeScript compiler API. The plan (shapes,
// dtypes, arena sizes, name mappings) becomes a typed `const PLAN: Plan = {...}` built with
// ts.factory; the code that runs it is src/launcher/runtime.ts, parsed and printed after the plan
// by the same printer (so launcher.ts is one readable, self-contained file that imports only Node
// built-ins). launcher.js is ts.transpileModule of that text (ES2022 modules; DIR/package.json says
// "type": "module"). Output is deterministic: no timestamps, no absolute paths.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { Plan } from './runtime.js';

// The launcher's code, in the order it is printed: helpers first, then the pipeline.
export const RUNTIME_TS = ['runtime-io.ts', 'runtime-tokenize.ts', 'runtime-weights.ts', 'runtime-tiling.ts', 'runtime-text.ts', 'runtime.ts'].map((f) => fileURLToPath(new URL(`../../src/launcher/${f}`, import.meta.url)));

/**
 * One module's text from several: each file without its imports (its header comment goes with the
 * first one) and without `export * from`, in order, under one import per Node module, so no name
 * is imported twice and imports of local files (now the same module) are gone.
 */
function combine(texts: readonly string[]): string {
  const named = new Map<string, Map<string, boolean>>(); // module -> name -> type-only
  const chunks: string[] = [];
  for (const text of texts) {
    const src = ts.createSourceFile('runtime.ts', text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    let out = '';
    let last = 0;
    for (const st of src.statements) {
      if (!ts.isImportDeclaration(st) && !ts.isExportDeclaration(st)) continue;
      out += text.slice(last, st.getFullStart());
      last = st.end;
      if (!ts.isImportDeclaration(st)) continue;
      const from = (st.moduleSpecifier as ts.StringLiteral).text;
      const bindings = st.importClause?.namedBindings;
      if (from.startsWith('.') || !bindings || !ts.isNamedImports(bindings)) continue;
      const names = named.get(from) ?? new Map<string, boolean>();
      named.set(from, names);
      for (const e of bindings.elements) names.set(e.name.text, (names.get(e.name.text) ?? true) && e.isTypeOnly);
    }
    chunks.push(out + text.slice(last));
  }
  const imports = [...named].map(([from, names]) =>
    `import { ${[...names].map(([n, typeOnly]) => `${typeOnly ? 'type ' : ''}${n}`).join(', ')} } from '${from}';`);
  return [...imports, ...chunks].join('\n');
}

const f = ts.factory;

/** A JSON-like value as an expression: object and array literals, strings, numbers, booleans. */
export function literal(v: unknown): ts.Expression {
  if (typeof v === 'string') return f.createStringLiteral(v);
  if (typeof v === 'number') return v < 0 ? f.createPrefixUnaryExpression(ts.SyntaxKind.MinusToken, f.createNumericLiteral(-v)) : f.createNumericLiteral(v);
  if (typeof v === 'boolean') return v ? f.createTrue() : f.createFalse();
  if (Array.isArray(v)) {
    const flat = v.every((x) => typeof x !== 'object');
    return f.createArrayLiteralExpression(v.map(literal), !flat && v.length > 0);
  }
  if (v && typeof v === 'object') {
    const props = Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) =>
      f.createPropertyAssignment(/^[A-Za-z_$][\w$]*$/.test(k) ? f.createIdentifier(k) : f.createStringLiteral(k), literal(x)));
    const nested = Object.values(v).some((x) => x !== null && typeof x === 'object' && (!Array.isArray(x) || x.some((y) => typeof y === 'object')));
    return f.createObjectLiteralExpression(props, nested || props.length > 4);
  }
  throw new Error(`launcher: cannot print ${String(v)}`);
}

export interface EmittedLauncher {
  readonly ts: string;
  readonly js: string;
}

export function emitLauncher(plan: Plan, runtimeTexts = RUNTIME_TS.map((p) => readFileSync(p, 'utf8'))): EmittedLauncher {
  const src = ts.createSourceFile('runtime.ts', combine(runtimeTexts), ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const imports = src.statements.filter(ts.isImportDeclaration);
  const body = src.statements.filter((s) => !ts.isImportDeclaration(s));
  // import { fileURLToPath } from 'node:url' (the launcher finds the executables beside itself)
  const urlImport = f.createImportDeclaration(undefined,
    f.createImportClause(false, undefined, f.createNamedImports([f.createImportSpecifier(false, undefined, f.createIdentifier('fileURLToPath'))])),
    f.createStringLiteral('node:url'));
  const planDecl = f.createVariableStatement(undefined, f.createVariableDeclarationList([
    f.createVariableDeclaration('PLAN', undefined, f.createTypeReferenceNode('Plan'), literal(plan)),
  ], ts.NodeFlags.Const));
  ts.addSyntheticLeadingComment(planDecl, ts.SyntaxKind.SingleLineCommentTrivia, ' ---------------------------------------------------------------- the plan (from mc compile)', true);
  // process.exitCode = await main(PLAN, fileURLToPath(new URL('.', import.meta.url)), process.argv.slice(2));
  const here = f.createCallExpression(f.createIdentifier('fileURLToPath'), undefined, [
    f.createNewExpression(f.createIdentifier('URL'), undefined, [f.createStringLiteral('.'), f.createPropertyAccessExpression(f.createMetaProperty(ts.SyntaxKind.ImportKeyword, f.createIdentifier('meta')), 'url')]),
  ]);
  const argv = f.createCallExpression(f.createPropertyAccessExpression(f.createPropertyAccessExpression(f.createIdentifier('process'), 'argv'), 'slice'), undefined, [f.createNumericLiteral(2)]);
  const run = f.createExpressionStatement(f.createAssignment(
    f.createPropertyAccessExpression(f.createIdentifier('process'), 'exitCode'),
    f.createAwaitExpression(f.createCallExpression(f.createIdentifier('main'), undefined, [f.createIdentifier('PLAN'), here, argv]))));
  const file = f.updateSourceFile(src, [...imports, urlImport, ...body, planDecl, run]);
  const printer = ts.createPrinter({ newLine: ts.NewLineKind.LineFeed });
  const header = [
    '// Generated by mc compile; do not edit. The launcher for the programs beside it:',
    plan.kind === 'single'
      ? `//   node launcher.js (--weights W.safetensors | --random-weights SEED) [--inputs I.safetensors] [--out O.safetensors]`
      : `//   node launcher.js (--weights DIR_OR_INDEX | --random-weights SEED) ${plan.text ? '(--prompt TEXT [--tokenizers DIR] | --prompt-embeds E.safetensors)' : '--prompt-embeds E.safetensors'} --out video.mp4 [--steps 50] [--shift 7] [--guidance 6] [--seed 0]`,
    '// It imports only Node built-ins (copy this folder to a machine with Node and run it there).',
    '',
  ].join('\n');
  const text = header + printer.printFile(file);
  const js = ts.transpileModule(text, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, removeComments: false },
    fileName: 'launcher.ts',
  }).outputText;
  return { ts: text, js };
}
