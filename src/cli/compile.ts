// `mc compile FILE [--model M] [--set k=v]... --hw NAME --mode infer [--backend cuda|cpu] [--arch sm_90]
//   [--dtype declared|fp32] [--arena greedy|sequential] [--offsets PLAN.json] -o DIR [--no-build]`
// Writes DIR/model.cu and DIR/runtime/*.cuh (a self-contained tree), then builds DIR/model with
// g++ (cpu) or nvcc (cuda) and prints the command. --hw is accepted and recorded in the header but
// does not change the code yet (kernels are not tuned per hardware profile).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { emitProgram, type Storage } from '../codegen/emit.js';
import type { ArenaMode } from '../codegen/plan.js';
import { EXIT_OK, UsageError, bytes, frontEnd } from './common.js';

export const RUNTIME_DIR = fileURLToPath(new URL('../../runtime-cuda/', import.meta.url));

export function buildCommand(backend: 'cpu' | 'cuda', dir: string, arch: string): string[] {
  const src = join(dir, 'model.cu');
  const out = join(dir, 'model');
  const inc = `-I${join(dir, 'runtime')}`;
  if (backend === 'cpu') return ['g++', '-std=c++17', '-O2', '-fopenmp', '-x', 'c++', inc, src, '-o', out];
  return ['nvcc', '-std=c++17', '-O2', `-arch=${arch}`, '--extended-lambda', '-diag-suppress', '177,550', inc, src, '-o', out];
}

export function compileCommand(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true,
      options: {
        model: { type: 'string' }, set: { type: 'string', multiple: true }, hw: { type: 'string' },
        mode: { type: 'string', default: 'infer' }, backend: { type: 'string', default: 'cuda' }, arch: { type: 'string', default: 'sm_90' },
        dtype: { type: 'string', default: 'declared' }, arena: { type: 'string', default: 'greedy' }, offsets: { type: 'string' },
        out: { type: 'string', short: 'o' }, 'no-build': { type: 'boolean', default: false },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
  const { values: v, positionals } = parsed;
  if (positionals.length !== 1 || !v.out) throw new UsageError('usage: mc compile FILE [--model M] [--set k=v]... --hw NAME --mode infer [--backend cuda|cpu] [--arch sm_90] -o DIR [--no-build]');
  if (v.mode !== 'infer') throw new UsageError(`--mode ${v.mode} is not supported yet; only --mode infer (forward) is`);
  if (v.backend !== 'cpu' && v.backend !== 'cuda') throw new UsageError(`--backend must be cuda or cpu, got '${v.backend}'`);
  if (!/^sm_\d{2,3}a?$/.test(v.arch!)) throw new UsageError(`--arch must look like sm_90, got '${v.arch}'`);
  if (v.dtype !== 'declared' && v.dtype !== 'fp32') throw new UsageError(`--dtype must be declared or fp32, got '${v.dtype}'`);
  if (v.arena !== 'greedy' && v.arena !== 'sequential') throw new UsageError(`--arena must be greedy or sequential, got '${v.arena}'`);
  let offsets: { total: number; offsets: Record<string, number> } | undefined;
  if (v.offsets) {
    try {
      offsets = JSON.parse(readFileSync(v.offsets, 'utf8'));
    } catch {
      throw new UsageError(`--offsets: cannot read '${v.offsets}' as JSON {"total": BYTES, "offsets": {"ID": OFFSET}}`);
    }
  }
  const fe = frontEnd(positionals[0], v.model, v.set);
  if (fe.exit !== undefined || !fe.graph) return fe.exit ?? 1;
  let emitted;
  try {
    emitted = emitProgram(fe.graph, { storage: v.dtype as Storage, arena: v.arena as ArenaMode, offsets, sources: fe.sources });
  } catch (e) {
    process.stderr.write(`mc compile: error: ${(e as Error).message}\n`);
    return 1;
  }
  const dir = v.out;
  mkdirSync(join(dir, 'runtime'), { recursive: true });
  const hw = v.hw ? `// --hw ${v.hw.replace(/[^A-Za-z0-9_.-]/g, '?')} (recorded; kernels are not tuned per profile yet)\n` : '';
  writeFileSync(join(dir, 'model.cu'), hw + emitted.source);
  for (const f of readdirSync(RUNTIME_DIR)) if (f.endsWith('.cuh')) copyFileSync(join(RUNTIME_DIR, f), join(dir, 'runtime', f));
  process.stdout.write(`wrote ${join(dir, 'model.cu')} (${fe.graph.ops.length} ops; arena ${bytes(emitted.plan.total)}, weights ${bytes(emitted.plan.weightTotal)})\n`);
  if (v['no-build']) return EXIT_OK;
  const cmd = buildCommand(v.backend as 'cpu' | 'cuda', dir, v.arch!);
  process.stdout.write(`${cmd.join(' ')}\n`);
  const t0 = performance.now();
  try {
    execFileSync(cmd[0], cmd.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { status?: number };
    process.stderr.write(`mc compile: error: ${err.code === 'ENOENT' ? `${cmd[0]} not found; install it or use --no-build` : `the build failed (exit ${err.status})`}\n`);
    return 1;
  }
  process.stdout.write(`built ${join(dir, 'model')} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return EXIT_OK;
}
