// Shared CLI plumbing: usage errors (exit 2), reading specs, parsing --set, printing diagnostics,
// and writing the files and folders users name (one line when that cannot be done, exit 1).
import { accessSync, constants, chmodSync, lstatSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { compileSpec, formatDiagnostics, type FrontEndResult } from '../driver/pipeline.js';

export const EXIT_OK = 0;
export const EXIT_DIAGNOSTICS = 1;
export const EXIT_USAGE = 2;

/** A one-line usage problem: printed as `mc CMD: error: ...`, exit 2. */
export class UsageError extends Error {}

/** A file or folder the user named cannot be written: printed as `mc CMD: error: ...`, exit 1. */
export class OutputError extends Error {}

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory', ENOTDIR: 'a parent is not a directory', EISDIR: 'it is a directory',
  EACCES: 'permission denied', EPERM: 'operation not permitted', EROFS: 'read-only file system',
  ENOSPC: 'no space left on device', EDQUOT: 'disk quota exceeded', ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links', EEXIST: 'it already exists', EBUSY: 'resource busy', EINVAL: 'invalid argument',
  EIO: 'input/output error', EFBIG: 'file too large', EMFILE: 'too many open files', EXDEV: 'cross-device rename',
};

/** Why a file operation failed, for one line: `no such directory (ENOENT)`. */
export function ioReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string') return (e as Error | undefined)?.message?.split('\n')[0] ?? String(e);
  return `${REASONS[code] ?? 'error'} (${code})`;
}

/** An errno error from node:fs (it has a string `code` and a `syscall`). */
export function isErrnoError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

// The kernel's pseudo-filesystems take no new files, and Node's recursive mkdir loops forever on
// /proc: a folder whose real path is under /proc or /sys is refused up front.
function pseudoFs(dir: string): string | undefined {
  let real = dir;
  try {
    real = realpathSync(dir);
  } catch { /* keep the path as given */ }
  const m = /^\/(proc|sys)(\/|$)/.exec(real);
  return m ? m[1] : undefined;
}

/** stat, or undefined when the path (or one of its parents) does not exist. */
function statIfAny(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** statIfAny, with any other error as one OutputError line starting with `what`. */
function statOrFail(path: string, what: string): Stats | undefined {
  try {
    return statIfAny(path);
  } catch (e) {
    throw new OutputError(`${what}: ${ioReason(e)}`);
  }
}

/** Checks that new entries can be made in the existing directory `dir`; `what` is the path the user named. */
function checkWritableDir(dir: string, what: string, verb: string): void {
  const fs = pseudoFs(dir);
  if (fs) throw new OutputError(`cannot ${verb} '${what}': '${dir}' is on the kernel's /${fs} pseudo-filesystem; pick a folder on a disk`);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw new OutputError(`cannot ${verb} '${what}': '${dir}' is not writable: ${ioReason(e)}`);
  }
}

/**
 * Checks, without writing anything, that `path` can be written as a file: it is an existing file
 * (or device) that is writable, or a new name in an existing writable directory. Throws OutputError.
 * Call it before long work (planning, evaluation) so a bad path fails fast.
 */
export function checkOutputFile(path: string): void {
  const abs = resolve(path);
  const st = statOrFail(abs, `cannot write '${path}'`);
  if (st) {
    if (st.isDirectory()) throw new OutputError(`cannot write '${path}': it is a directory (EISDIR); name a file`);
    try {
      accessSync(abs, constants.W_OK);
    } catch (e) {
      throw new OutputError(`cannot write '${path}': ${ioReason(e)}`);
    }
    return;
  }
  const parent = dirname(abs);
  const ps = statOrFail(parent, `cannot write '${path}'`);
  if (!ps) throw new OutputError(`cannot write '${path}': no such directory '${parent}' (ENOENT); create it or pick another path`);
  if (!ps.isDirectory()) throw new OutputError(`cannot write '${path}': '${parent}' is not a directory (ENOTDIR)`);
  checkWritableDir(parent, path, 'write');
}

/**
 * Checks, without creating anything, that `dir` can be used as an output folder: an existing
 * writable directory, or a new one whose nearest existing ancestor is a writable directory on an
 * ordinary filesystem (not /proc or /sys). Throws OutputError.
 */
export function checkOutputDir(dir: string): void {
  const abs = resolve(dir);
  let at = abs;
  for (;;) {
    const st = statOrFail(at, `cannot create '${dir}'`);
    if (st) {
      if (!st.isDirectory())
        throw new OutputError(at === abs ? `cannot write to '${dir}': it exists and is not a directory; -o names a folder` : `cannot create '${dir}': '${at}' is not a directory (ENOTDIR)`);
      checkWritableDir(at, dir, at === abs ? 'write to' : 'create');
      return;
    }
    const up = dirname(at);
    if (up === at) throw new OutputError(`cannot create '${dir}': no existing parent directory`);
    at = up;
  }
}

/**
 * Writes a file the user named, whole or not at all: a regular file (new or existing) is written
 * to a temporary name beside it and renamed into place, so a failed write leaves the old contents
 * (or nothing). Devices and pipes (/dev/stdout) are written directly. Throws OutputError, one line.
 */
export function writeOutput(path: string, data: string | Uint8Array, opts: { mode?: number } = {}): void {
  checkOutputFile(path);
  let st: Stats | undefined;
  try {
    st = lstatSync(path);
  } catch { /* a new file */ }
  if (st && !st.isFile()) {
    try {
      writeFileSync(path, data, opts.mode === undefined ? {} : { mode: opts.mode });
    } catch (e) {
      throw new OutputError(`cannot write '${path}': ${ioReason(e)}`);
    }
    return;
  }
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, data, opts.mode === undefined ? {} : { mode: opts.mode });
    if (st) chmodSync(tmp, st.mode & 0o7777);
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch { /* not created */ }
    throw new OutputError(`cannot write '${path}': ${ioReason(e)}`);
  }
}

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

/**
 * One line for a usage error, from our own message or parseArgs' (which appends advice about `--`
 * and reads "--gpus -1" as a missing value followed by an option).
 */
export function usageLine(msg: string): string {
  const neg = /^Option '(--[\w-]+)[^']*' argument is ambiguous/.exec(msg);
  if (neg) return `${neg[1]} takes a value that does not start with '-' (negative numbers are not allowed)`;
  return msg.split('\n')[0].replace(/\. To specify a positional argument .*$/, '');
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
