// Name-mapping files (examples/hunyuan-video/*.diffusers.map): how a checkpoint's tensor names map
// onto a spec's weights. The format is documented at the top of dit.diffusers.map; the rules are
// data, embedded in the generated launcher and applied there by src/launcher/runtime.ts
// (resolveWeight, checkWeights). `findMap` looks for SPEC.diffusers.map next to the spec or next to
// any file it `use`s, so examples/tiny/dit.mc finds ../hunyuan-video/dit.diffusers.map.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DType } from '../ir/types.js';
import type { MapRule, WeightMap } from '../launcher/runtime.js';

const DTYPES = new Set(['bf16', 'fp16', 'fp32', 'i32', 'i64', 'bool']);

export class MapError extends Error {}

export function parseMap(text: string, source: string): WeightMap {
  const rules: MapRule[] = [];
  const ignore: string[] = [];
  text.split('\n').forEach((raw, k) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const at = `${source}:${k + 1}`;
    const ig = /^ignore\s+(\S+)$/.exec(line);
    if (ig) { ignore.push(ig[1]); return; }
    const m = /^(\S+)\s*=\s*(.+?)(?:\s*:\s*(\w+))?$/.exec(line);
    if (!m) throw new MapError(`${at}: expected SPEC_PREFIX = PART [+ PART ...] [: DTYPE] or ignore PATTERN`);
    const [, spec, rhs, dtype] = m;
    if (dtype !== undefined && !DTYPES.has(dtype)) throw new MapError(`${at}: unknown dtype '${dtype}'`);
    let swap = false;
    let body = rhs.trim();
    const sw = /^swap\((.+)\)$/.exec(body);
    if (sw) { swap = true; body = sw[1].trim(); }
    const parts = body.split('+').map((p) => {
      const pm = /^(\*|[A-Za-z0-9_.{}]+)(?:\*(\d+))?$/.exec(p.trim());
      if (!pm) throw new MapError(`${at}: bad part '${p.trim()}' (a dotted name, optionally *N)`);
      return { name: pm[1], units: pm[2] ? Number(pm[2]) : 1 };
    });
    if (swap && parts.length !== 1) throw new MapError(`${at}: swap() takes one part`);
    if ((spec === '*') !== (parts.length === 1 && parts[0].name === '*')) throw new MapError(`${at}: '*' maps only to '*' (identity)`);
    rules.push(dtype ? { spec, parts, swap, dtype: dtype as DType } : { spec, parts, swap });
  });
  return { source, rules, ignore };
}

/** SPEC.diffusers.map next to the spec or any file it uses (in that order), or undefined. */
export function findMap(files: readonly string[]): string | undefined {
  for (const f of files) {
    const p = join(dirname(f), `${basename(f).replace(/\.mc$/, '')}.diffusers.map`);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export function loadMap(path: string): WeightMap {
  return parseMap(readFileSync(path, 'utf8'), path.replace(/\\/g, '/'));
}
