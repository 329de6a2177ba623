// `mc ops [--markdown]`: the op table as users see it, generated from the registry so the list in
// docs/LANGUAGE.md cannot drift (a test compares them).
import { parseArgs } from 'node:util';
import { OPS } from '../ops/registry.js';
import type { OpDef, ParamSpec } from '../ops/types.js';

function signature(d: OpDef): string {
  const p = (s: ParamSpec): string => {
    if (s.type === 'tensors') return `${s.name}...`;
    if (s.default === undefined) return s.name;
    const v = s.default === null ? 'none' : Array.isArray(s.default) ? `(${s.default.join(', ')})` : JSON.stringify(s.default);
    return `${s.name}=${v}`;
  };
  return `${d.name}${d.weighted ? '["scope"]' : ''}(${d.params.map(p).join(', ')})`;
}

export function opsTable(markdown: boolean): string {
  const defs = [...OPS.values()];
  if (markdown) {
    const rows = defs.map((d) => `| \`${signature(d)}\` | ${d.view ? 'view' : ''} | ${d.doc} |`);
    return ['| op | | what it computes |', '|---|---|---|', ...rows].join('\n') + '\n';
  }
  return defs.map((d) => `${signature(d)}\n    ${d.doc}${d.view ? ' (a view)' : ''}`).join('\n') + '\n';
}

export function opsCommand(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { markdown: { type: 'boolean' } } });
  process.stdout.write(opsTable(values.markdown ?? false));
  return 0;
}
