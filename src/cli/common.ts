// Shared CLI plumbing: usage errors (exit 2), reading specs, parsing --set, printing diagnostics.
import { readFileSync } from 'node:fs';
import { compileSpec, formatDiagnostics, type FrontEndResult } from '../driver/pipeline.js';

export const EXIT_OK = 0;
export const EXIT_DIAGNOSTICS = 1;
export const EXIT_USAGE = 2;

/** A one-line usage problem: printed as `mc CMD: error: ...`, exit 2. */
export class UsageError extends Error {}

export function parseSets(sets: readonly string[] | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of sets ?? []) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(-?\d+)$/.exec(s.trim());
    if (!m) throw new UsageError(`--set expects NAME=INTEGER (e.g. --set frames=129), got '${s}'`);
    if (!Number.isSafeInteger(Number(m[2]))) throw new UsageError(`--set ${m[1]}: ${m[2]} is too large`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

export function readSpec(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read '${path}' (${code === 'ENOENT' ? 'no such file' : code ?? 'error'})`);
  }
}

/** Reads a file named by `use "..."`: its text, or why it cannot be read (a diagnostic, not a throw). */
export function readUsed(p: string): string | { error: string } {
  try {
    return readFileSync(p, 'utf8');
  } catch (e) {
    return { error: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String((e as Error).message) };
  }
}

/** Runs the front end; prints diagnostics to stderr. Returns the graph, or an exit code. */
export function frontEnd(path: string, model: string | undefined, sets: readonly string[] | undefined): FrontEndResult & { exit?: number } {
  const r = compileSpec(path, readSpec(path), { model, set: parseSets(sets) }, readUsed);
  if (r.usage) throw new UsageError(r.usage);
  if (r.diagnostics.length > 0) {
    process.stderr.write(formatDiagnostics(r) + '\n');
    const n = r.diagnostics.length;
    process.stderr.write(`\n${n} error${n === 1 ? '' : 's'}.\n`);
    return { ...r, exit: EXIT_DIAGNOSTICS };
  }
  return r;
}

export function groupDigits(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 12.07 PFLOP, 26.97 TFLOP, ... (SI prefixes, 4 significant digits). */
export function si(n: number, unit: string): string {
  const prefixes: [number, string][] = [[1e18, 'E'], [1e15, 'P'], [1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [v, p] of prefixes) if (Math.abs(n) >= v) return `${(n / v).toPrecision(4)} ${p}${unit}`;
  return `${n} ${unit}`;
}

export function bytes(n: number): string {
  const units: [number, string][] = [[2 ** 40, 'TiB'], [2 ** 30, 'GiB'], [2 ** 20, 'MiB'], [2 ** 10, 'KiB']];
  for (const [v, u] of units) if (n >= v) return `${(n / v).toFixed(2)} ${u}`;
  return `${n} B`;
}

/** The flags that describe one plan (hardware, parallel layout, mode, spec): shared with `mc check`. */
export const PLAN_FLAGS = {
  hw: { type: 'string' }, gpus: { type: 'string' }, tp: { type: 'string' }, sp: { type: 'boolean' },
  ulysses: { type: 'string' }, cp: { type: 'string' }, dp: { type: 'string' }, zero: { type: 'string' },
  mode: { type: 'string' }, strategy: { type: 'string' }, 'offload-weights': { type: 'boolean' }, cfg: { type: 'boolean' },
  calibration: { type: 'string' }, set: { type: 'string', multiple: true }, model: { type: 'string' },
} as const;
