// `mc compile FILE [--model M] [--set k=v]... --hw NAME --mode infer [--backend cuda|cpu] [--arch sm_90]
//   [--dtype declared|fp32] [--arena planned|greedy|sequential] [--offsets PLAN.json] [--offload-weights]
//   -o DIR [--no-build]
//   [--pipeline hunyuan-video --vae VAE.mc [--vae-set k=v]...]`
// Writes DIR/model.cu and DIR/runtime/*.cuh (a self-contained tree), then builds DIR/model with
// g++ (cpu) or nvcc (cuda) and prints the command. It also writes DIR/launcher.ts and DIR/launcher.js
// (src/launcher/emit.ts). With --pipeline, FILE is the DiT and the VAE spec's `decoder` model is the
// second program: DIR/dit/ and DIR/vae/ hold the two programs and the launcher runs the whole
// text-to-video pipeline (docs/PIPELINE.md). --hw is accepted and recorded in the header but
// does not change the code yet (kernels are not tuned per hardware profile).
import { execFileSync } from 'node:child_process';
import { startTicker } from '../report/ticker.js';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type EmitOptions, emitProgram, type Storage, tensorBytes } from '../codegen/emit.js';
import { ARENA_MODES, type ArenaMode, type ExternalOffsets, solveArena } from '../codegen/plan.js';
import type { Graph } from '../ir/types.js';
import { emitLauncher } from '../launcher/emit.js';
import { BENCH_SH } from '../launcher/bench.js';
import { type ModelPlan, type Plan, type TensorSpec, type WeightMap, tiles1d } from '../launcher/runtime.js';
import { MapError, findMap, loadMap } from '../weights/map.js';
import { EXIT_OK, UsageError, bytes, frontEnd } from './common.js';

export const RUNTIME_DIR = fileURLToPath(new URL('../../runtime-cuda/', import.meta.url));

export function buildCommand(backend: 'cpu' | 'cuda', dir: string, arch: string): string[] {
  const src = join(dir, 'model.cu');
  const out = join(dir, 'model');
  const inc = `-I${join(dir, 'runtime')}`;
  if (backend === 'cpu') return ['g++', '-std=c++17', '-O2', '-fopenmp', '-x', 'c++', inc, src, '-o', out];
  return ['nvcc', '-std=c++17', '-O2', `-arch=${arch}`, '--extended-lambda', '-diag-suppress', '177,550', inc, src, '-o', out];
}

interface BuildOptions {
  readonly storage: Storage;
  readonly arena: ArenaMode;
  readonly offsets?: ExternalOffsets;
  readonly hw?: string;
  readonly backend: 'cpu' | 'cuda';
  readonly arch: string;
  readonly build: boolean;
  readonly streamWeights: boolean;
}

// The arena solve's budget per program: the planner stops earlier once its layout is within 0.2%
// of the live-bytes bound (the 13B DiT at 720p: ~0.3 s).
const ARENA_TIME_LIMIT_S = 5;

/** Writes DIR/model.cu and DIR/runtime/, builds DIR/model unless --no-build; returns the program's plan or an exit code. */
async function writeProgram(g: Graph, sources: EmitOptions['sources'], dir: string, o: BuildOptions, map: WeightMap, folder: string, rel: string): Promise<ModelPlan | number> {
  let emitted;
  try {
    let offsets = o.offsets;
    if (!offsets && o.arena === 'planned') {
      const solved = await solveArena(g, tensorBytes(g, o.storage), ARENA_TIME_LIMIT_S);
      process.stdout.write(`arena planned by the memory planner: ${bytes(solved.total)} (${solved.note})\n`);
      offsets = solved;
    }
    emitted = emitProgram(g, { storage: o.storage, arena: o.offsets ? undefined : o.arena, offsets, sources, streamWeights: o.streamWeights });
  } catch (e) {
    process.stderr.write(`mc compile: error: ${(e as Error).message}\n`);
    return 1;
  }
  mkdirSync(join(dir, 'runtime'), { recursive: true });
  const hw = o.hw ? `// --hw ${o.hw.replace(/[^A-Za-z0-9_.-]/g, '?')} (recorded; kernels are not tuned per profile yet)\n` : '';
  writeFileSync(join(dir, 'model.cu'), hw + emitted.source);
  for (const f of readdirSync(RUNTIME_DIR)) if (f.endsWith('.cuh')) copyFileSync(join(RUNTIME_DIR, f), join(dir, 'runtime', f));
  const streamed = o.streamWeights ? ` in pinned host memory, streamed through 2 x ${bytes(emitted.slotBytes)} device slots` : '';
  process.stdout.write(`wrote ${join(dir, 'model.cu')} (${g.ops.length} ops; arena ${bytes(emitted.plan.total)}, weights ${bytes(emitted.plan.weightTotal)}${streamed})\n`);
  const spec = (id: number, storage: boolean): TensorSpec => {
    const t = g.tensors[id];
    const dt = storage && o.storage === 'fp32' && (t.dtype === 'bf16' || t.dtype === 'fp16') ? 'fp32' : t.dtype;
    return { name: t.name, dtype: dt, shape: [...t.shape] };
  };
  const seen = new Set<string>();
  const weights = g.tensors.filter((t) => t.kind === 'weight' && !seen.has(t.name) && seen.add(t.name)).map((t) => spec(t.id, false));
  const plan: ModelPlan = {
    dir: rel, model: g.model, folder, weights,
    inputs: g.inputs.map((id) => spec(id, true)), outputs: g.outputs.map((id) => spec(id, true)),
    weightBytes: o.streamWeights ? 2 * emitted.slotBytes : emitted.plan.weightTotal, arenaBytes: emitted.plan.total, map,
  };
  if (!o.build) return plan;
  const cmd = buildCommand(o.backend, dir, o.arch);
  process.stdout.write(`${cmd.join(' ')}\n`);
  const t0 = performance.now();
  // Estimate from measured builds (docs/PERF.md): nvcc ~2 s per TU plus ~1 s per 100 ops (13B DiT,
  // 1,993 ops: 19 s); g++ ~1 s plus ~1 s per 400 ops.
  const n = g.ops.length;
  const stop = startTicker(`building ${folder || g.model} with ${cmd[0]}`, o.backend === 'cuda' ? 8 + n / 100 : 2 + n / 400);
  try {
    execFileSync(cmd[0], cmd.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (e) {
    stop();
    const err = e as NodeJS.ErrnoException & { status?: number };
    process.stderr.write(`mc compile: error: ${err.code === 'ENOENT' ? `${cmd[0]} not found; install it or use --no-build` : `the build failed (exit ${err.status})`}\n`);
    return 1;
  }
  stop();
  process.stdout.write(`built ${join(dir, 'model')} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return plan;
}

function writeLauncher(dir: string, plan: Plan): void {
  const l = emitLauncher(plan);
  writeFileSync(join(dir, 'launcher.ts'), l.ts);
  writeFileSync(join(dir, 'launcher.js'), l.js);
  writeFileSync(join(dir, 'package.json'), '{ "type": "module", "private": true }\n');
  process.stdout.write(`wrote ${join(dir, 'launcher.ts')} and launcher.js\n`);
}

const IDENTITY: WeightMap = { source: '(identity: no mapping file)', rules: [{ spec: '*', parts: [{ name: '*', units: 1 }], swap: false }], ignore: [] };

function mapFor(sources: ReadonlyMap<string, unknown>, main: string): WeightMap {
  const p = findMap([main, ...[...sources.keys()].filter((k) => k !== main)]);
  return p ? loadMap(p) : IDENTITY;
}

export async function compileCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true,
      options: {
        model: { type: 'string' }, set: { type: 'string', multiple: true }, hw: { type: 'string' },
        mode: { type: 'string', default: 'infer' }, backend: { type: 'string', default: 'cuda' }, arch: { type: 'string', default: 'sm_90' },
        dtype: { type: 'string', default: 'declared' }, arena: { type: 'string', default: 'planned' }, offsets: { type: 'string' },
        out: { type: 'string', short: 'o' }, 'no-build': { type: 'boolean', default: false }, 'offload-weights': { type: 'boolean', default: false },
        pipeline: { type: 'string' }, vae: { type: 'string' }, 'vae-set': { type: 'string', multiple: true },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
  const { values: v, positionals } = parsed;
  if (positionals.length !== 1 || !v.out) throw new UsageError('usage: mc compile FILE [--model M] [--set k=v]... --hw NAME --mode infer [--backend cuda|cpu] [--arch sm_90] [--arena planned|greedy|sequential] [--offload-weights] -o DIR [--no-build]');
  if (v.mode !== 'infer') throw new UsageError(`--mode ${v.mode} is not supported yet; only --mode infer (forward) is`);
  if (v.backend !== 'cpu' && v.backend !== 'cuda') throw new UsageError(`--backend must be cuda or cpu, got '${v.backend}'`);
  if (!/^sm_\d{2,3}a?$/.test(v.arch!)) throw new UsageError(`--arch must look like sm_90, got '${v.arch}'`);
  if (v.dtype !== 'declared' && v.dtype !== 'fp32') throw new UsageError(`--dtype must be declared or fp32, got '${v.dtype}'`);
  if (!ARENA_MODES.includes(v.arena as ArenaMode)) throw new UsageError(`--arena must be one of ${ARENA_MODES.join(', ')}, got '${v.arena}'`);
  let offsets: ExternalOffsets | undefined;
  if (v.offsets) {
    try {
      offsets = JSON.parse(readFileSync(v.offsets, 'utf8'));
    } catch {
      throw new UsageError(`--offsets: cannot read '${v.offsets}' as JSON {"total": BYTES, "offsets": {"ID": OFFSET}}`);
    }
  }
  if (v.pipeline !== undefined && v.pipeline !== 'hunyuan-video') throw new UsageError(`--pipeline must be hunyuan-video, got '${v.pipeline}'`);
  if (v.pipeline && !v.vae) throw new UsageError('--pipeline hunyuan-video needs --vae VAE.mc (the decoder is the second program)');
  if (!v.pipeline && (v.vae || v['vae-set'])) throw new UsageError('--vae and --vae-set need --pipeline hunyuan-video');
  const fe = frontEnd(positionals[0], v.model, v.set);
  if (fe.exit !== undefined || !fe.graph) return fe.exit ?? 1;
  const o: BuildOptions = { storage: v.dtype as Storage, arena: v.arena as ArenaMode, offsets, hw: v.hw, backend: v.backend as 'cpu' | 'cuda', arch: v.arch!, build: !v['no-build'], streamWeights: v['offload-weights']! };
  const dir = v.out;
  try {
    if (!v.pipeline) {
      const p = await writeProgram(fe.graph, fe.sources, dir, o, mapFor(fe.sources, positionals[0]), '', '.');
      if (typeof p === 'number') return p;
      writeLauncher(dir, { kind: 'single', backend: o.backend, model: p });
      return EXIT_OK;
    }
    // The pipeline: the DiT and the VAE decoder, whose latent tile defaults to the reference's
    // (17 x 32 x 32 latents: 65 frames of 256 x 256 pixels), clipped to the video.
    const d = fe.graph.dims;
    const vset = v['vae-set'] ?? [`frames=${Math.min(65, d.frames)}`, `height=${Math.min(256, d.height)}`, `width=${Math.min(256, d.width)}`];
    const ve = frontEnd(v.vae!, 'decoder', vset);
    if (ve.exit !== undefined || !ve.graph) return ve.exit ?? 1;
    const lat = ve.graph.tensors[ve.graph.inputs[0]].shape;
    const dl = fe.graph.tensors[fe.graph.inputs[0]].shape;
    if (lat[1] !== dl[1] || lat[2] > dl[2] || lat[3] > dl[3] || lat[4] > dl[4])
      throw new UsageError(`the decoder's latent tile [${lat.join(', ')}] must have the DiT latent's channels and fit in [${dl.join(', ')}]; choose it with --vae-set frames=.. --vae-set height=.. --vae-set width=..`);
    const dit = await writeProgram(fe.graph, fe.sources, join(dir, 'dit'), o, mapFor(fe.sources, positionals[0]), 'transformer', 'dit');
    if (typeof dit === 'number') return dit;
    const vae = await writeProgram(ve.graph, ve.sources, join(dir, 'vae'), o, mapFor(ve.sources, v.vae!), 'vae', 'vae');
    if (typeof vae === 'number') return vae;
    writeLauncher(dir, { kind: 'hunyuan-video', backend: o.backend, dit, vae, frames: d.frames, height: d.height, width: d.width, scaling: 0.476986, fps: 24 });
    const ntiles = tiles1d(dl[2], lat[2]).length * tiles1d(dl[3], lat[3]).length * tiles1d(dl[4], lat[4]).length;
    writeFileSync(join(dir, 'bench.sh'), BENCH_SH.replace('__TILES__', String(ntiles)), { mode: 0o755 });
    return EXIT_OK;
  } catch (e) {
    if (e instanceof MapError) { process.stderr.write(`mc compile: error: ${e.message}\n`); return 1; }
    throw e;
  }
}
