// `mc compile FILE [--model M] [--set k=v]... [--hw NAME] [--mode infer] [--backend cuda|cpu] [--arch sm_90]
//   [--dtype declared|fp32] [--arena planned|greedy|sequential] [--offsets PLAN.json] [--offload-weights]
//   -o DIR [--no-build]
//   [--pipeline hunyuan-video --vae VAE.mc [--vae-set k=v]... [--vae-tile PX,FRAMES]
//    [--text-encoder TE.mc --clip CLIP.mc [--te-set k=v]... [--clip-set k=v]...]]`
// Writes DIR/model.cu and DIR/runtime/*.cuh (a self-contained tree), then builds DIR/model with
// g++ (cpu) or nvcc (cuda) and prints the command. It also writes DIR/launcher.ts and DIR/launcher.js
// (src/launcher/emit.ts). With --pipeline, FILE is the DiT and the VAE spec's `decoder` model is
// built once per latent tile shape of the reference's tiled decode: DIR/dit/ and DIR/vae-TxHxW/ hold
// the programs and the launcher runs the whole text-to-video pipeline (docs/PIPELINE.md); with
// --text-encoder and --clip, DIR/llm/ and DIR/clip/ hold the two text encoders and the launcher
// takes a prompt string. --hw does not change the code (kernels are not tuned per profile); it warns
// when the program will not fit.
import { execFileSync } from 'node:child_process';
import { startTicker } from '../report/ticker.js';
import { type HardwareProfile, ProfileError, loadProfile } from '../hw/profile.js';
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type EmitOptions, emitProgram, type Storage, tensorBytes } from '../codegen/emit.js';
import { ARENA_MODES, type ArenaMode, type ExternalOffsets, solveArena } from '../codegen/plan.js';
import type { Graph } from '../ir/types.js';
import { emitLauncher } from '../launcher/emit.js';
import { BENCH_SH } from '../launcher/bench.js';
import { type ModelPlan, type Plan, type TensorSpec, type TextPlan, type Tiling, type WeightMap, tileCount, tileShapes } from '../launcher/runtime.js';
import { MapError, findMap, loadMap } from '../weights/map.js';
import { EXIT_OK, OutputError, UsageError, bytes, checkOutputDir, frontEnd, ioReason, readSpec, writeOutput } from './common.js';
import { usageOf } from './help.js';

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
  /** The --hw profile: a program that will not fit its GPU gets a warning. */
  readonly gpu?: HardwareProfile;
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
  const device = (o.streamWeights ? 2 * emitted.slotBytes : emitted.plan.weightTotal) + emitted.plan.total;
  const usable = o.gpu ? o.gpu.gpu.memoryBytes - (o.gpu.gpu.reservedBytes ?? 0) : Infinity;
  if (o.backend === 'cuda' && device > usable)
    process.stderr.write(`mc compile: warning: ${g.model} needs ${bytes(device)} of GPU memory (weights${o.streamWeights ? ' slots' : ''} + arena), more than the ${bytes(usable)} of ${o.hw}; ${o.streamWeights ? 'use a smaller size or more GPUs' : 'try --offload-weights'}\n`);
  // compileCommand checked the output folder (checkOutputDir) before anything was written.
  try {
    mkdirSync(join(dir, 'runtime'), { recursive: true });
  } catch (e) {
    throw new OutputError(`cannot create '${join(dir, 'runtime')}': ${ioReason(e)}`);
  }
  const hw = o.hw ? `// --hw ${o.hw.replace(/[^A-Za-z0-9_.-]/g, '?')} (recorded; kernels are not tuned per profile yet)\n` : '';
  writeOutput(join(dir, 'model.cu'), hw + emitted.source);
  for (const f of readdirSync(RUNTIME_DIR)) {
    if (!f.endsWith('.cuh')) continue;
    try {
      copyFileSync(join(RUNTIME_DIR, f), join(dir, 'runtime', f));
    } catch (e) {
      throw new OutputError(`cannot write '${join(dir, 'runtime', f)}': ${ioReason(e)}`);
    }
  }
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
  writeOutput(join(dir, 'launcher.ts'), l.ts);
  writeOutput(join(dir, 'launcher.js'), l.js);
  writeOutput(join(dir, 'package.json'), '{ "type": "module", "private": true }\n');
  process.stdout.write(`wrote ${join(dir, 'launcher.ts')} and launcher.js\n`);
}

const IDENTITY: WeightMap = { source: '(identity: no mapping file)', rules: [{ spec: '*', parts: [{ name: '*', units: 1 }], swap: false }], ignore: [] };

function mapFor(sources: ReadonlyMap<string, unknown>, main: string): WeightMap {
  const p = findMap([main, ...[...sources.keys()].filter((k) => k !== main)]);
  return p ? loadMap(p) : IDENTITY;
}

interface TextEncoder { readonly file: string; readonly graph: Graph; readonly sources: NonNullable<EmitOptions['sources']>; readonly tag: string; readonly folder: string }

/**
 * One text encoder of the pipeline, elaborated and checked before anything is written: the Llama-3
 * `text_encoder` (input ids [1, L], output hidden_state [1, L, text_dim]) or CLIP-L (inputs ids,
 * position_ids, eos_mask [1, S], output pooled [1, clip_dim]). Its last output's width must be the
 * DiT's `feeds` input width (text, text_pooled). It is built into DIR/TAG; its checkpoint is FOLDER.
 */
function textEncoder(file: string, model: string | undefined, set: string[] | undefined, tag: string, folder: string, feeds: TensorSpec | undefined): TextEncoder | number {
  const fe = frontEnd(file, model, set);
  if (fe.exit !== undefined || !fe.graph) return fe.exit ?? 1;
  const g = fe.graph;
  const ins = g.inputs.map((id) => g.tensors[id]);
  const want = tag === 'llm' ? ['ids'] : ['ids', 'position_ids', 'eos_mask'];
  const out = g.tensors[g.outputs[g.outputs.length - 1]];
  const width = out?.shape[out.shape.length - 1];
  const rank = tag === 'llm' ? 3 : 2;
  if (want.some((n) => !ins.find((t) => t.name === n && t.shape.length === 2 && t.shape[0] === 1)) || out?.shape.length !== rank || !feeds || width !== feeds.shape[feeds.shape.length - 1]) {
    const has = `inputs ${ins.map((t) => `${t.name} [${t.shape.join(', ')}]`).join(', ')}; output ${out ? `${out.name} [${out.shape.join(', ')}]` : '(none)'}`;
    const what = tag === 'llm' ? `input ids [1, L] and an output [1, L, ${feeds?.shape[2]}] (the DiT's text width)` : `inputs ids, position_ids, eos_mask [1, S] and an output [1, ${feeds?.shape[1]}] (the DiT's text_pooled width)`;
    throw new UsageError(`${file}${model ? ` (model ${model})` : ''} must have ${what}; ${g.model} has ${has}`);
  }
  return { file, graph: g, sources: fe.sources, tag, folder };
}

/**
 * --vae-tile PX,FRAMES: the decoder's tile in pixels (height = width) and frames, at the reference's
 * 25% overlap (stride 3/4); HunyuanVideo's default is 256,64. In latent units (8x, 4x) both the
 * tile and its stride must be whole: PX a multiple of 32, FRAMES of 16.
 */
function parseTiling(text: string | undefined): Tiling {
  const m = /^(\d+),(\d+)$/.exec(text ?? '');
  const px = m ? Number(m[1]) : NaN;
  const fr = m ? Number(m[2]) : NaN;
  if (!(px >= 32 && px % 32 === 0 && fr >= 16 && fr % 16 === 0))
    throw new UsageError(`--vae-tile must be PX,FRAMES with PX a multiple of 32 and FRAMES a multiple of 16 (HunyuanVideo: 256,64), got '${text}'`);
  return { frames: fr / 4, framesStride: (3 * fr) / 16, size: px / 8, sizeStride: (3 * px) / 32 };
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
        pipeline: { type: 'string' }, vae: { type: 'string' }, 'vae-set': { type: 'string', multiple: true }, 'vae-tile': { type: 'string', default: '256,64' },
        'text-encoder': { type: 'string' }, clip: { type: 'string' }, 'te-set': { type: 'string', multiple: true }, 'clip-set': { type: 'string', multiple: true },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
  const { values: v, positionals } = parsed;
  if (positionals.length !== 1 || !v.out) throw new UsageError(`usage: ${usageOf('compile')}`);
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
  if (!v.pipeline && (v.vae || v['vae-set'] || argv.some((a) => a.startsWith('--vae-tile')))) throw new UsageError('--vae, --vae-set and --vae-tile need --pipeline hunyuan-video');
  const textFlags = [v['text-encoder'], v.clip, v['te-set'], v['clip-set']].some((x) => x !== undefined);
  if (textFlags && !v.pipeline) throw new UsageError('--text-encoder, --clip, --te-set and --clip-set need --pipeline hunyuan-video');
  // The launcher encodes a prompt only with both encoders; without either it takes --prompt-embeds.
  if (textFlags && (!v['text-encoder'] || !v.clip))
    throw new UsageError('the text encoders come together: give both --text-encoder TE.mc (Llama-3) and --clip CLIP.mc, or neither (the launcher then needs --prompt-embeds)');
  // The output folder is checked before anything is written: an existing file, /proc or /sys
  // (where a recursive mkdir never returns) or a read-only parent is one line, not a stack.
  checkOutputDir(v.out);
  // An unreadable --vae, --text-encoder or --clip fails before the DiT is written.
  if (v.pipeline) for (const f of [v.vae!, v['text-encoder'], v.clip]) if (f) readSpec(f);
  const fe = frontEnd(positionals[0], v.model, v.set);
  if (fe.exit !== undefined || !fe.graph) return fe.exit ?? 1;
  let gpu: HardwareProfile | undefined;
  try {
    gpu = v.hw === undefined ? undefined : loadProfile(v.hw);
  } catch (e) {
    if (e instanceof ProfileError) throw new UsageError(e.message);
    throw e;
  }
  const o: BuildOptions = { storage: v.dtype as Storage, arena: v.arena as ArenaMode, offsets, hw: v.hw, gpu, backend: v.backend as 'cpu' | 'cuda', arch: v.arch!, build: !v['no-build'], streamWeights: v['offload-weights']! };
  const dir = v.out;
  try {
    if (!v.pipeline) {
      const p = await writeProgram(fe.graph, fe.sources, dir, o, mapFor(fe.sources, positionals[0]), '', '.');
      if (typeof p === 'number') return p;
      writeLauncher(dir, { kind: 'single', backend: o.backend, model: p });
      return EXIT_OK;
    }
    // The pipeline: the DiT, and the VAE decoder built once per latent tile shape that the
    // reference's tiled decode (src/launcher/runtime-tiling.ts) needs at this video size.
    const d = fe.graph.dims;
    const g = fe.graph;
    const latent = g.inputs.map((id) => g.tensors[id]).find((t) => t.name === 'latent');
    const noDims = ['frames', 'height', 'width'].filter((k) => d[k] === undefined);
    if (!latent || latent.shape.length !== 5 || latent.shape[0] !== 1 || noDims.length > 0) {
      const ins = g.inputs.map((id) => `${g.tensors[id].name} [${g.tensors[id].shape.join(', ')}]`);
      const has = `${ins.length === 1 ? 'input' : 'inputs'} ${ins.join(', ') || '(none)'}${noDims.length ? ` and no dim ${noDims.join(', ')}` : ''}`;
      throw new UsageError(`--pipeline hunyuan-video needs the DiT spec (an input \`latent\` [1, C, T, H, W] and dims frames, height, width); ${g.model} has ${has}`);
    }
    const dl = latent.shape; // [1, C, T, h, w]
    const vset = v['vae-set'] ?? [];
    if (vset.some((x) => /^\s*(frames|height|width)\s*=/.test(x))) throw new UsageError('--vae-set cannot set frames, height or width: the decoder tiles follow the video size and --vae-tile');
    const tiling = parseTiling(v['vae-tile']);
    let vmap: WeightMap | undefined;
    const feeds = (name: string): TensorSpec | undefined => {
      const t = g.inputs.map((id) => g.tensors[id]).find((x) => x.name === name);
      return t && { name, dtype: t.dtype, shape: [...t.shape] };
    };
    // The text encoders are checked against the DiT's text inputs before anything is written.
    const llm = v['text-encoder'] ? textEncoder(v['text-encoder'], 'text_encoder', v['te-set'], 'llm', 'text_encoder', feeds('text')) : undefined;
    if (typeof llm === 'number') return llm;
    const clip = v.clip ? textEncoder(v.clip, undefined, v['clip-set'], 'clip', 'text_encoder_2', feeds('text_pooled')) : undefined;
    if (typeof clip === 'number') return clip;
    const dit = await writeProgram(fe.graph, fe.sources, join(dir, 'dit'), o, mapFor(fe.sources, positionals[0]), 'transformer', 'dit');
    if (typeof dit === 'number') return dit;
    const vae: ModelPlan[] = [];
    for (const [t, h, w] of tileShapes(dl[2], dl[3], dl[4], tiling)) {
      const ve = frontEnd(v.vae!, 'decoder', [...vset, `frames=${1 + 4 * (t - 1)}`, `height=${8 * h}`, `width=${8 * w}`]);
      if (ve.exit !== undefined || !ve.graph) return ve.exit ?? 1;
      const lat = ve.graph.tensors[ve.graph.inputs[0]].shape;
      if (lat.join() !== [1, dl[1], t, h, w].join())
        throw new UsageError(`the decoder's latent for a ${t}x${h}x${w} tile is [${lat.join(', ')}], expected [1, ${dl[1]}, ${t}, ${h}, ${w}] (the DiT latent's channels)`);
      const tag = `vae-${t}x${h}x${w}`;
      vmap ??= mapFor(ve.sources, v.vae!);
      const m = await writeProgram(ve.graph, ve.sources, join(dir, tag), o, vmap, 'vae', tag);
      if (typeof m === 'number') return m;
      vae.push(m);
    }
    const vaeTiles = vae.map(({ dir: d, inputs, outputs, weightBytes, arenaBytes }) => ({ dir: d, inputs, outputs, weightBytes, arenaBytes }));
    let text: TextPlan | undefined;
    if (llm && clip) {
      const build = (te: TextEncoder): Promise<ModelPlan | number> => writeProgram(te.graph, te.sources, join(dir, te.tag), o, mapFor(te.sources, te.file), te.folder, te.tag);
      const l = await build(llm);
      if (typeof l === 'number') return l;
      const c = await build(clip);
      if (typeof c === 'number') return c;
      text = { llm: l, clip: c };
    }
    writeLauncher(dir, { kind: 'hunyuan-video', backend: o.backend, dit, vae: vae[0], vaeTiles, tiling, frames: d.frames, height: d.height, width: d.width, scaling: 0.476986, fps: 24, text });
    const bench = BENCH_SH.replace('__TILES__', String(tileCount(dl[2], dl[3], dl[4], tiling))).replace('__VAE__', vae[0].dir);
    writeOutput(join(dir, 'bench.sh'), bench, { mode: 0o755 });
    return EXIT_OK;
  } catch (e) {
    if (e instanceof MapError) { process.stderr.write(`mc compile: error: ${e.message}\n`); return 1; }
    throw e;
  }
}
