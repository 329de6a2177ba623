// A stable text form of the IR, one line per op, grouped by layer: what `mc inspect --ir` prints
// and what the IR golden files pin. Weights print by checkpoint name, activations as %id.
import type { SourceFile } from '../diag/source.js';
import type { AttrValue, Graph, Tensor } from './types.js';

const ty = (t: Tensor): string => `${t.dtype}[${t.shape.join(', ')}]`;
const ref = (t: Tensor): string => (t.kind === 'weight' ? `@${t.name}` : `%${t.id}`);
const attr = (v: AttrValue): string => (Array.isArray(v) ? `(${v.join(', ')})` : typeof v === 'string' ? `"${v}"` : String(v));

export function printGraph(g: Graph, sources?: ReadonlyMap<string, SourceFile>): string {
  const lines: string[] = [`model ${g.model} (${Object.entries(g.dims).map(([k, v]) => `${k}=${v}`).join(' ')})`];
  for (const id of g.inputs) lines.push(`  input %${id} ${g.tensors[id].name}: ${ty(g.tensors[id])}`);
  for (const l of g.layers) {
    lines.push(`layer ${l.name} (${l.kind})`);
    for (const o of l.ops.map((i) => g.ops[i])) {
      const outs = o.outputs.map((i) => `%${i}`).join(', ');
      const ins = o.inputs.map((i) => ref(g.tensors[i])).join(', ');
      const attrs = Object.entries(o.attrs).map(([k, v]) => `${k}=${attr(v)}`).join(' ');
      const types = o.outputs.map((i) => ty(g.tensors[i])).join(', ');
      const src = sources?.get(o.origin.file);
      const at = src ? `  # ${o.origin.file}:${src.position(o.origin.start).line}` : '';
      lines.push(`  ${outs} = ${o.kind}(${ins})${attrs ? ` {${attrs}}` : ''} : ${types}${at}`);
    }
  }
  for (const id of g.outputs) lines.push(`  output %${id} ${g.tensors[id].name}: ${ty(g.tensors[id])}`);
  return lines.join('\n') + '\n';
}

/**
 * A count (parameters, elements, bytes) with thousands separators: `1,234,567`. Counts past
 * 2^53 - 1 are not exact in a double, so they print as approximate scientific notation
 * (`~1.351e+16`) instead of digits that look exact; separators never touch an exponent.
 */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const r = Math.round(n);
  if (Math.abs(r) > Number.MAX_SAFE_INTEGER) return `~${r.toPrecision(4)}`;
  return String(r).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
