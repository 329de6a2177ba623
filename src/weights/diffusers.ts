// Random weights in the diffusers checkpoint layout, for tests and for trying the launcher's loading
// path without the real checkpoint: draws the spec's weights exactly as `mc weights --random SEED`
// does (src/eval/random.ts), then writes them under the checkpoint names of the spec's mapping file
// (split qkv, swapped halves, the checkpoint dtypes), as sharded safetensors with an index JSON.
//   node dist/weights/diffusers.js SPEC.mc [--model M] [--set k=v]... --random SEED -o FOLDER [--shards N]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Graph } from '../ir/types.js';
import { randomWeights } from '../eval/random.js';
import { resolveWeight, type WeightMap } from '../launcher/runtime.js';
import { roundTo, serializeSafetensors, type TensorData } from '../safetensors/index.js';
import { frontEnd } from '../cli/common.js';
import { findMap, loadMap } from './map.js';

export interface Written {
  /** The spec-named weights the checkpoint holds (after rounding to the checkpoint dtypes): what a loader must reproduce. */
  readonly spec: Map<string, TensorData>;
  /** The checkpoint-named tensors as written. */
  readonly checkpoint: Map<string, TensorData>;
}

/** The checkpoint tensors for spec-named weights (the inverse of the launcher's loading). */
export function toCheckpoint(g: Graph, map: WeightMap, weights: ReadonlyMap<string, TensorData>): Written {
  const spec = new Map<string, TensorData>();
  const checkpoint = new Map<string, TensorData>();
  const seen = new Set<string>();
  for (const t of g.tensors) {
    if (t.kind !== 'weight' || seen.has(t.name)) continue;
    seen.add(t.name);
    const r = resolveWeight(map, { name: t.name, dtype: t.dtype, shape: t.shape });
    const w = weights.get(t.name)!;
    const rowElems = t.shape.slice(1).reduce((a, b) => a * b, 1);
    const parts = new Map(r.parts.map((p) => [p.name, new Float64Array(p.shape.reduce((a, b) => a * b, 1))]));
    for (const pc of r.pieces) {
      const dst = parts.get(pc.source)!;
      const n = (pc.rows[1] - pc.rows[0]) * rowElems;
      for (let i = 0; i < n; i++) dst[pc.rows[0] * rowElems + i] = roundTo(r.dtype, w.data[pc.at * rowElems + i]);
    }
    for (const p of r.parts) checkpoint.set(p.name, { dtype: r.dtype, shape: p.shape, data: parts.get(p.name)! });
    spec.set(t.name, { dtype: t.dtype, shape: t.shape, data: w.data.map((x) => roundTo(t.dtype, roundTo(r.dtype, x))) });
  }
  return { spec, checkpoint };
}

/** Writes FOLDER/diffusion_pytorch_model-0000K-of-0000N.safetensors and the index JSON. */
export function writeCheckpoint(folder: string, tensors: ReadonlyMap<string, TensorData>, shards = 2): void {
  mkdirSync(folder, { recursive: true });
  const names = [...tensors.keys()].sort();
  const n = Math.max(1, Math.min(shards, names.length));
  const file = (k: number): string => `diffusion_pytorch_model-${String(k + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
  const weightMap: Record<string, string> = {};
  let total = 0;
  for (let k = 0; k < n; k++) {
    const part = new Map(names.filter((_, i) => Math.floor((i * n) / names.length) === k).map((nm) => [nm, tensors.get(nm)!]));
    for (const [nm, t] of part) { weightMap[nm] = file(k); total += t.data.length * (t.dtype === 'fp32' ? 4 : 2); }
    writeFileSync(join(folder, file(k)), serializeSafetensors(part, { format: 'pt' }));
  }
  writeFileSync(join(folder, 'diffusion_pytorch_model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2) + '\n');
}

export function writeRandomCheckpoint(g: Graph, map: WeightMap, seed: number, folder: string, shards = 2): Written {
  const w = toCheckpoint(g, map, randomWeights(g, seed));
  writeCheckpoint(folder, w.checkpoint, shards);
  return w;
}

function cli(argv: string[]): number {
  const { values: v, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { model: { type: 'string' }, set: { type: 'string', multiple: true }, random: { type: 'string' }, out: { type: 'string', short: 'o' }, shards: { type: 'string', default: '2' } },
  });
  if (positionals.length !== 1 || !v.random || !v.out) {
    process.stderr.write('usage: node dist/weights/diffusers.js SPEC.mc [--model M] [--set k=v]... --random SEED -o FOLDER [--shards N]\n');
    return 2;
  }
  const fe = frontEnd(positionals[0], v.model, v.set);
  if (!fe.graph) return 1;
  const mp = findMap([positionals[0], ...fe.sources.keys()]);
  if (!mp) { process.stderr.write(`no *.diffusers.map next to ${positionals[0]} or the files it uses\n`); return 1; }
  const w = writeRandomCheckpoint(fe.graph, loadMap(mp), Number(v.random), v.out, Number(v.shards));
  process.stdout.write(`wrote ${w.checkpoint.size} tensors (mapping ${mp}) to ${v.out}\n`);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = cli(process.argv.slice(2));
