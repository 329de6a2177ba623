// The launcher runtime's checkpoint side: the name mapping from spec weights to checkpoint tensors
// (fused qkv, swapped halves, dtypes), opening a sharded checkpoint folder, and one error that lists
// every missing, extra, wrong-shape or wrong-dtype tensor. Node built-ins only; printed into
// DIR/launcher.ts with the other runtime files.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type DType, type StEntry, LaunchError, SIZE, ST_NAME, numel, readHeader, shapeText } from './runtime-io.js';
import type { MapRule, ModelPlan, TensorSpec, WeightMap } from './runtime.js';

// ---------------------------------------------------------------- weights: name mapping and checks

export interface Piece {
  readonly source: string; // checkpoint tensor name
  readonly rows: readonly [number, number]; // source rows [a, b) of dim 0
  readonly at: number; // destination row
}
export interface Resolved {
  readonly spec: TensorSpec;
  readonly dtype: DType; // the checkpoint's dtype
  readonly parts: readonly { readonly name: string; readonly shape: readonly number[] }[];
  readonly pieces: readonly Piece[];
}

export const ruleRegex = (p: string): RegExp => new RegExp('^' + p.replace(/[.*+?^$()[\]\\|]/g, '\\$&').replace(/\\\{i\\\}|\{i\}/g, '(\\d+)'));

/** The checkpoint tensors (names, shapes, row pieces) a spec weight is read from. */
export function resolveWeight(map: WeightMap, w: TensorSpec): Resolved {
  let best: { rule: MapRule; m: RegExpExecArray | null; len: number } | undefined;
  for (const rule of map.rules) {
    if (rule.spec === '*') { if (!best) best = { rule, m: null, len: -1 }; continue; }
    const m = ruleRegex(rule.spec).exec(w.name);
    if (m && (w.name.length === m[0].length || w.name[m[0].length] === '.') && (!best || m[0].length > best.len)) best = { rule, m, len: m[0].length };
  }
  if (!best) throw new LaunchError(`${map.source}: no rule maps the spec weight '${w.name}'`);
  const { rule, m } = best;
  const suffix = m ? w.name.slice(m[0].length) : '';
  const sub = (s: string): string => { let k = 1; return s === '*' ? w.name : s.replace(/\{i\}/g, () => m?.[k++] ?? '') + suffix; };
  const R = w.shape[0] ?? 1;
  const rest = w.shape.slice(1);
  const total = rule.parts.reduce((a, p) => a + p.units, 0);
  const parts: { name: string; shape: number[] }[] = [];
  const pieces: Piece[] = [];
  let at = 0;
  for (const p of rule.parts) {
    const rows = (R * p.units) / total;
    if (!Number.isInteger(rows)) throw new LaunchError(`${map.source}: '${w.name}' has ${R} rows, which do not split as ${rule.parts.map((q) => q.units).join(':')}`);
    const name = sub(p.name);
    parts.push({ name, shape: w.shape.length === 0 ? [] : [rows, ...rest] });
    if (rule.swap) pieces.push({ source: name, rows: [rows / 2, rows], at: 0 }, { source: name, rows: [0, rows / 2], at: rows / 2 });
    else pieces.push({ source: name, rows: [0, rows], at });
    at += rows;
  }
  return { spec: w, dtype: rule.dtype ?? w.dtype, parts, pieces };
}

/** A checkpoint folder: every tensor name -> its shard and header entry. */
export interface Checkpoint {
  readonly folder: string;
  readonly tensors: Map<string, { file: string; entry: StEntry }>;
}

/** Opens a folder with `*.safetensors.index.json` (sharded) or a single `*.safetensors`; validates every header. */
export function openCheckpoint(folder: string): Checkpoint {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new LaunchError(`no checkpoint folder ${folder}`);
  const names = readdirNames(folder);
  const index = names.find((n) => n.endsWith('.safetensors.index.json'));
  const tensors = new Map<string, { file: string; entry: StEntry }>();
  if (index) {
    let wm: Record<string, string>;
    try {
      wm = (JSON.parse(readFileSync(join(folder, index), 'utf8')) as { weight_map: Record<string, string> }).weight_map;
      if (!wm || typeof wm !== 'object') throw new Error();
    } catch {
      throw new LaunchError(`${join(folder, index)}: corrupt: not an index JSON with a weight_map`);
    }
    const shards = [...new Set(Object.values(wm))].sort();
    const headers = new Map(shards.map((s) => [s, readHeader(join(folder, s))]));
    for (const [name, shard] of Object.entries(wm)) {
      const e = headers.get(shard)!.get(name);
      if (!e) throw new LaunchError(`${join(folder, index)}: lists '${name}' in ${shard}, which has no such tensor`);
      tensors.set(name, { file: join(folder, shard), entry: e });
    }
  } else {
    const single = names.filter((n) => n.endsWith('.safetensors'));
    if (single.length !== 1) throw new LaunchError(`${folder}: expected one *.safetensors.index.json or one *.safetensors file, found ${single.length} safetensors files`);
    for (const [name, e] of readHeader(join(folder, single[0]))) tensors.set(name, { file: join(folder, single[0]), entry: e });
  }
  return { folder, tensors };
}

export const readdirNames = (folder: string): string[] => readdirSync(folder).sort();

export const ignored = (map: WeightMap, name: string): boolean =>
  map.ignore.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p));

/**
 * Checks a checkpoint against a model plan and returns the executable's weights plan (text). Every
 * problem (missing, extra, wrong shape, wrong dtype) is collected into one LaunchError.
 */
export function checkWeights(m: ModelPlan, ck: Checkpoint): string {
  const problems: string[] = [];
  const used = new Set<string>();
  const files: string[] = [];
  const lines: string[] = [];
  const fileNo = (f: string): number => { let k = files.indexOf(f); if (k < 0) { k = files.length; files.push(f); } return k; };
  for (const w of m.weights) {
    const r = resolveWeight(m.map, w);
    let ok = true;
    r.parts.forEach((p, k) => {
      used.add(p.name);
      const of = r.parts.length > 1 ? ` (part ${k + 1} of ${r.parts.length} of ${w.name})` : w.name !== p.name ? ` (for ${w.name})` : '';
      const found = ck.tensors.get(p.name);
      if (!found) { problems.push(`missing ${p.name}: expected ${r.dtype}${shapeText(p.shape)}${of}`); ok = false; return; }
      if (shapeText(found.entry.shape) !== shapeText(p.shape)) { problems.push(`shape   ${p.name}: expected ${shapeText(p.shape)}, found ${shapeText(found.entry.shape)}${of}`); ok = false; }
      if (found.entry.dtype !== r.dtype) { problems.push(`dtype   ${p.name}: expected ${r.dtype}, found ${found.entry.dtype}${of}`); ok = false; }
    });
    if (!ok) continue;
    const rowElems = numel(w.shape.slice(1));
    for (const pc of r.pieces) {
      const src = ck.tensors.get(pc.source)!;
      const size = SIZE[src.entry.dtype];
      const off = src.entry.begin + pc.rows[0] * rowElems * size;
      lines.push(`piece ${w.name} ${fileNo(src.file)} ${ST_NAME[src.entry.dtype]} ${off} ${(pc.rows[1] - pc.rows[0]) * rowElems} ${pc.at * rowElems}`);
    }
  }
  for (const [name, t] of [...ck.tensors].sort((a, b) => (a[0] < b[0] ? -1 : 1)))
    if (!used.has(name) && !ignored(m.map, name)) problems.push(`extra   ${name}: found ${t.entry.dtype}${shapeText(t.entry.shape)}, which no spec weight reads`);
  if (problems.length > 0) {
    const shown = problems.slice(0, 60);
    if (problems.length > shown.length) shown.push(`... and ${problems.length - shown.length} more`);
    throw new LaunchError(`${ck.folder} does not match ${m.model} (mapping ${m.map.source}): ${problems.length} problem${problems.length === 1 ? '' : 's'}\n  ${shown.join('\n  ')}`);
  }
  return [...files.map((f, k) => `file ${k} ${resolve(f)}`), ...lines, ''].join('\n');
}
