// `mc inspect FILE [--model NAME] [--set k=v]... [--json]`: the per-layer table of parameters and
// forward FLOPs, and totals. Exit 0 ok, 1 diagnostics, 2 bad usage. --json prints the counts
// exactly (all digits, even past 2^53); the table rounds them for display.
import { parseArgs } from 'node:util';
import { exactModelStats, statsAsNumbers } from '../analysis/cost.js';
import { printGraph } from '../ir/print.js';
import { EXIT_OK, UsageError, bytes, frontEnd, si } from './common.js';
import { usageOf } from './help.js';
import { formatCount } from '../ir/print.js';

export function inspectCommand(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { model: { type: 'string' }, set: { type: 'string', multiple: true }, json: { type: 'boolean' }, ir: { type: 'boolean' } },
  });
  if (positionals.length !== 1) throw new UsageError(`expected one spec file: ${usageOf('inspect')}`);
  const r = frontEnd(positionals[0], values.model, values.set);
  if (r.exit !== undefined || !r.graph) return r.exit ?? 1;
  const g = r.graph;
  if (values.ir) {
    process.stdout.write(printGraph(g, r.sources));
    return EXIT_OK;
  }
  const x = exactModelStats(g);
  if (values.json) {
    const out = {
      model: g.model, dims: g.dims, params: x.params, paramBytes: x.paramBytes,
      flopsForward: x.flopsForward, flopsGemm: x.flopsGemm, flopsConv: x.flopsConv,
      flopsAttention: x.flopsAttention, flopsElementwise: x.flopsElementwise,
      layers: x.layers.map((l) => ({ name: l.name, kind: l.kind, params: l.params, flopsForward: l.flopsForward, flopsElementwise: l.flopsElementwise })),
      inputs: g.inputs.map((t) => tensorJson(g.tensors[t])),
      outputs: g.outputs.map((t) => tensorJson(g.tensors[t])),
    };
    process.stdout.write(toJson(out) + '\n');
    return EXIT_OK;
  }
  const s = statsAsNumbers(x);
  const dims = Object.entries(g.dims).map(([k, v]) => `${k}=${v}`).join(' ');
  const rows = s.layers.map((l) => [l.name, l.kind, formatCount(l.params), si(l.flopsForward, 'FLOP')]);
  const head = ['layer', 'kind', 'params', 'FLOPs fwd'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => (i >= 2 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ');
  const out = [
    `model ${g.model} (${dims})`,
    line(head),
    line(w.map((n) => '-'.repeat(n))),
    ...rows.map(line),
    '',
    `params           ${formatCount(s.params)} (${bytes(s.paramBytes)})`,
    `FLOPs forward    ${si(s.flopsForward, 'FLOP')}  (GEMM ${si(s.flopsGemm, 'FLOP')}, conv ${si(s.flopsConv, 'FLOP')}, attention ${si(s.flopsAttention, 'FLOP')})`,
    `FLOPs elementwise ${si(s.flopsElementwise, 'FLOP')} (estimate; not in FLOPs forward)`,
    `inputs           ${g.inputs.map((t) => fmtTensor(g.tensors[t])).join(', ')}`,
    `outputs          ${g.outputs.map((t) => fmtTensor(g.tensors[t])).join(', ')}`,
  ];
  process.stdout.write(out.join('\n') + '\n');
  return EXIT_OK;
}

/**
 * JSON.stringify(v, null, 2), except that a bigint prints as a number literal with all its digits
 * (JSON numbers have no size limit; JSON.stringify throws on bigint). Keys keep insertion order.
 */
export function toJson(v: unknown, indent = ''): string {
  if (typeof v === 'bigint') return v.toString();
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  const inner = indent + '  ';
  const items = Array.isArray(v)
    ? v.map((x) => toJson(x, inner))
    : Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => `${JSON.stringify(k)}: ${toJson(x, inner)}`);
  const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
  return items.length === 0 ? open + close : `${open}\n${inner}${items.join(`,\n${inner}`)}\n${indent}${close}`;
}

function tensorJson(t: { name: string; shape: readonly number[]; dtype: string }): object {
  return { name: t.name, shape: t.shape, dtype: t.dtype };
}

function fmtTensor(t: { name: string; shape: readonly number[]; dtype: string }): string {
  return `${t.name}: ${t.dtype}[${t.shape.join(', ')}]`;
}
