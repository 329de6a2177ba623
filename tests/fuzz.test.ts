// Fuzzing the front end: thousands of mutated example files (tokens deleted, duplicated or
// swapped, truncation, random bytes) must never throw, and every rejected input must come with at
// least one diagnostic whose position is a real line:col of its file.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { compileSpec } from '../src/driver/pipeline.js';
import { verifyGraph } from '../src/ir/verify.js';
import { readDisk } from './helpers.js';

const FILES = [
  'examples/hunyuan-video/dit.mc', 'examples/hunyuan-video/vae.mc', 'examples/hunyuan-video/text-encoder.mc',
  'examples/memo-gpt/gpt.mc', 'examples/memo-gpt/gpt-13b.mc', 'examples/tiny/dit.mc', 'examples/tiny/gpt.mc',
];
const MUTATIONS = 5000;

// mulberry32: a small seeded PRNG so every run tries the same inputs.
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(text: string, r: () => number): string {
  const toks = text.match(/\s+|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|"[^"\n]*"|./g) ?? [];
  const i = Math.floor(r() * toks.length);
  const pick = (): string => toks[Math.floor(r() * toks.length)];
  switch (Math.floor(r() * 6)) {
    case 0: toks.splice(i, 1); break; // delete a token
    case 1: toks.splice(i, 0, toks[i] ?? ''); break; // duplicate it
    case 2: [toks[i], toks[i + 1]] = [toks[i + 1] ?? '', toks[i] ?? '']; break; // swap neighbours
    case 3: return toks.join('').slice(0, Math.floor(r() * text.length)); // truncate
    case 4: toks.splice(i, 0, String.fromCharCode(...Array.from({ length: 1 + Math.floor(r() * 4) }, () => Math.floor(r() * 256)))); break;
    default: toks[i] = pick(); // replace with another token of the file
  }
  return toks.join('');
}

describe('front-end fuzzing', () => {
  it(`survives ${MUTATIONS} mutations of the examples`, () => {
    const r = rng(20261128);
    const sources = FILES.map((f) => readFileSync(f, 'utf8'));
    let rejected = 0;
    for (let n = 0; n < MUTATIONS; n++) {
      const k = n % FILES.length;
      // One to three mutations per input.
      let text = sources[k];
      for (let m = 1 + Math.floor(r() * 3); m > 0; m--) text = mutate(text, r);
      let res;
      try {
        res = compileSpec(FILES[k], text, {}, readDisk);
      } catch (e) {
        throw new Error(`mutation ${n} of ${FILES[k]} threw ${(e as Error).stack}\n--- input ---\n${text}`);
      }
      if (res.graph) {
        expect(verifyGraph(res.graph)).toEqual([]);
        continue;
      }
      rejected++;
      if (res.usage) continue; // e.g. a mutated dim name no longer matches: a usage error, not a crash
      expect(res.diagnostics.length).toBeGreaterThan(0);
      for (const d of res.diagnostics) {
        const src = res.sources.get(d.span.file);
        expect(src).toBeDefined();
        const { line, col } = src!.position(d.span.start);
        expect(d.span.start).toBeGreaterThanOrEqual(0);
        expect(d.span.start).toBeLessThanOrEqual(src!.text.length);
        expect(line).toBeGreaterThanOrEqual(1);
        expect(col).toBeGreaterThanOrEqual(1);
        expect(col).toBeLessThanOrEqual(src!.lineText(line).length + 1);
      }
    }
    expect(rejected).toBeGreaterThan(MUTATIONS / 2);
  }, 300_000);
});
