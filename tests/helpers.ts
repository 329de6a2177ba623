// Test helpers: run the front end on example files the way the CLI does (with `use` resolved
// from disk), and fail loudly with formatted diagnostics when a spec does not elaborate.
import { readFileSync } from 'node:fs';
import { readUsed } from '../src/cli/common.js';
import { compileSpec, formatDiagnostics, type FrontEndResult } from '../src/driver/pipeline.js';
import type { ElabOptions } from '../src/elab/elaborate.js';
import type { Graph } from '../src/ir/types.js';
import { verifyGraph } from '../src/ir/verify.js';

export { readUsed as readDisk } from '../src/cli/common.js';

export function frontEnd(path: string, opts: { model?: string; set?: Record<string, number> } = {}): FrontEndResult {
  return compileSpec(path, readFileSync(path, 'utf8'), opts, readUsed);
}

/** Elaborates and verifies a spec; throws with the diagnostics if it does not. */
export function load(path: string, opts: { model?: string; set?: Record<string, number> } = {}): Graph {
  const r = frontEnd(path, opts);
  if (!r.graph) throw new Error(`${path} did not elaborate:\n${formatDiagnostics(r)}${r.usage ?? ''}`);
  const errs = verifyGraph(r.graph);
  if (errs.length > 0) throw new Error(`${path}: IR verifier:\n${errs.join('\n')}`);
  return r.graph;
}

/** Elaborates inline source text (no `use`). */
export function fromText(text: string, opts: ElabOptions = {}): FrontEndResult {
  return compileSpec('test.mc', text, opts);
}
