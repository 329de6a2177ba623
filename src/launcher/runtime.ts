// The launcher's runtime: everything a generated DIR/launcher.ts does, as one module that imports
// only Node built-ins. `mc compile` copies these statements into DIR/launcher.ts after the PLAN
// constant it builds (src/launcher/emit.ts), so DIR runs on a machine with Node and nothing else.
// Tests import this module directly to run the same pipeline on `mc eval` (see `generate`).
//
// Pipeline (docs/PIPELINE.md): a prompt through the two text encoders (runtime-text.ts), or its
// embeddings from a file -> seeded noise -> flow-matching Euler loop on the DiT executable (one
// process, weights resident, `--serve`) -> latents / scaling -> tiled decode on the VAE decoder
// executable -> uint8 frames -> MP4 through ffmpeg, else PNG frames.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type DType, type Forward, type Tensor, LaunchError, Server, guidanceInput, noise, numel, serialize, shapeText, sigmas, toFrames, writeVideo } from './runtime-io.js';
import { checkWeights, openCheckpoint } from './runtime-weights.js';
import { type Tiling, tiledDecode } from './runtime-tiling.js';
import { type PromptIds, type TextPlan, encodePrompt, loadTokenizers, readPrompt, textDump, tokenizePrompt } from './runtime-text.js';

export * from './runtime-io.js';
export * from './runtime-tokenize.js';
export * from './runtime-weights.js';
export * from './runtime-tiling.js';
export * from './runtime-text.js';

// ---------------------------------------------------------------- plan types (filled by mc compile)


export interface TensorSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/** One rule of a name mapping (a *.diffusers.map file next to the spec). */
export interface MapRule {
  readonly spec: string; // spec prefix pattern, {i} = a block index; '*' = identity
  readonly parts: readonly { readonly name: string; readonly units: number }[];
  readonly swap: boolean;
  readonly dtype?: DType;
}

export interface WeightMap {
  readonly source: string; // the map file, for messages
  readonly rules: readonly MapRule[];
  readonly ignore: readonly string[];
}

/** One executable: where it is, what goes in and out, and the GPU memory it takes. */
export interface Program {
  readonly dir: string; // relative to the launcher: the executable is DIR/model
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly weightBytes: number; // on the GPU: all weights, or two layer slots when streamed (--offload-weights)
  readonly arenaBytes: number;
}

/** A program with the model's weights and how a checkpoint names them. */
export interface ModelPlan extends Program {
  readonly model: string;
  readonly folder: string; // the checkpoint folder: transformer or vae
  readonly weights: readonly TensorSpec[]; // declared dtypes (what a checkpoint stores)
  readonly map: WeightMap;
}

export interface PipelinePlan {
  readonly kind: 'hunyuan-video';
  readonly backend: 'cpu' | 'cuda';
  readonly dit: ModelPlan;
  /** The VAE decoder (its weights and name mapping; the program of its largest tile). */
  readonly vae: ModelPlan;
  /** The decoder built for each latent tile shape the tiling needs, largest (= vae) first; same weights. */
  readonly vaeTiles: readonly Program[];
  readonly tiling: Tiling;
  readonly frames: number;
  readonly height: number;
  readonly width: number;
  readonly scaling: number; // the VAE's scaling factor: latents are divided by it before decoding
  readonly fps: number;
  /** The text encoders, when built (--text-encoder, --clip): the launcher then takes --prompt. */
  readonly text?: TextPlan;
}

export interface SinglePlan {
  readonly kind: 'single';
  readonly backend: 'cpu' | 'cuda';
  readonly model: ModelPlan;
}

export type Plan = PipelinePlan | SinglePlan;


// ---------------------------------------------------------------- executables

/** A forward of one of the decoder programs (one per tile shape). */
export type DecoderForward = (program: Program, inputs: ReadonlyMap<string, Tensor>) => Promise<Map<string, Tensor>>;

// ---------------------------------------------------------------- the pipeline

export interface Options {
  readonly steps: number;
  readonly shift: number;
  readonly guidance: number;
  readonly seed: number;
}

export interface Prompt {
  readonly text: Tensor;
  readonly mask: Tensor;
  readonly pooled: Tensor;
}

export interface Progress {
  step(i: number, n: number, seconds: number): void;
  stage(name: string, seconds: number, detail: string): void;
}

const input = (m: Program, name: string): TensorSpec => {
  const t = m.inputs.find((x) => x.name === name);
  if (!t) throw new LaunchError(`${m.dir}/model has no input '${name}'`);
  return t;
};

/**
 * Runs the sampling loop and the tiled decode with the given forwards (the executables, or `mc
 * eval` in tests). Returns the decoded video [3, F, H, W] in [-1, 1] (fp32) and the final latents.
 */
export async function generate(plan: PipelinePlan, opts: Options, prompt: Prompt, dit: Forward, vae: DecoderForward, progress?: Progress): Promise<{ video: Float32Array; latents: Float32Array; tiles: number }> {
  const lat = input(plan.dit, 'latent');
  const [, C, T, lh, lw] = lat.shape;
  const n = numel(lat.shape);
  let x = noise(opts.seed, n);
  const sg = sigmas(opts.steps, opts.shift);
  const seg = input(plan.dit, 'cu_seqlens');
  const textLen = prompt.mask.shape[prompt.mask.shape.length - 1];
  const valid = Array.from(prompt.mask.data).filter((v) => v !== 0).length;
  const Limg = T * (lh / 2) * (lw / 2);
  const cu = new Float64Array([0, Limg + valid, Limg + textLen]);
  const g = guidanceInput(opts.guidance);
  const fixed: [string, Tensor][] = [
    ['text', { ...prompt.text, dtype: 'fp32' }],
    ['text_mask', { ...prompt.mask, dtype: 'bool' }],
    ['text_pooled', { ...prompt.pooled, dtype: 'fp32' }],
    ['cu_seqlens', { dtype: 'i32', shape: seg.shape, data: cu }],
  ];
  const t0 = Date.now();
  for (let i = 0; i < opts.steps; i++) {
    const ts = Date.now();
    const ins = new Map<string, Tensor>([
      ['latent', { dtype: 'fp32', shape: lat.shape, data: x }],
      ['timestep', { dtype: 'fp32', shape: [1], data: new Float32Array([Math.fround(sg[i] * 1000)]) }],
      ['guidance', { dtype: 'fp32', shape: [1], data: new Float32Array([g]) }],
      ...fixed,
    ]);
    const v = (await dit(ins)).get('velocity');
    if (!v || v.data.length !== n) throw new LaunchError(`${plan.dit.model}: no velocity of ${n} values in the output`);
    const dt = Math.fround(sg[i + 1] - sg[i]);
    const y = new Float32Array(n);
    for (let k = 0; k < n; k++) y[k] = x[k] + Math.fround(dt * v.data[k]);
    x = y;
    progress?.step(i + 1, opts.steps, (Date.now() - ts) / 1000);
  }
  progress?.stage('denoise', (Date.now() - t0) / 1000, `${opts.steps} steps`);

  // Decode: latents / scaling, then the reference's tiled decode (runtime-tiling.ts), each tile on
  // the decoder program built for its shape.
  const t1 = Date.now();
  const shapes = new Set<string>();
  const decoded = await tiledDecode({ c: C, f: T, h: lh, w: lw, d: x.map((v) => v / plan.scaling) }, plan.tiling, async (lat) => {
    const m = plan.vaeTiles.find((p) => input(p, 'latent').shape.slice(2).join() === [lat.f, lat.h, lat.w].join());
    if (!m) throw new LaunchError(`no decoder program for a ${lat.f}x${lat.h}x${lat.w} latent tile; recompile with mc compile --pipeline for this size`);
    shapes.add(`${lat.f}x${lat.h}x${lat.w}`);
    const spec = m.outputs[0];
    const out = (await vae(m, new Map([['latent', { dtype: 'fp32' as DType, shape: [1, lat.c, lat.f, lat.h, lat.w], data: lat.d }]]))).get(spec.name);
    if (!out || out.data.length !== numel(spec.shape)) throw new LaunchError(`${m.dir}/model: no '${spec.name}' of ${shapeText(spec.shape)} in the output`);
    const [, c, f, h, w] = spec.shape;
    return { c, f, h, w, d: Float32Array.from(out.data) };
  });
  progress?.stage('decode', (Date.now() - t1) / 1000, `${decoded.calls} decoder call${decoded.calls === 1 ? '' : 's'} on ${shapes.size} tile shape${shapes.size === 1 ? '' : 's'}: ${[...shapes].join(', ')}`);
  return { video: decoded.video.d, latents: x, tiles: decoded.calls };
}

// ---------------------------------------------------------------- the command line

const USAGE = 'usage: node launcher.js (--weights DIR_OR_INDEX | --random-weights SEED) (--prompt TEXT [--tokenizers DIR] | --prompt-embeds E.safetensors) --out video.mp4 [--steps 50] [--shift 7] [--guidance 6] [--seed 0] [--height H --width W --frames F] [--dump-video V.safetensors] [--dump-text T.safetensors]';

function intArg(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v)) throw new LaunchError(`--${name} must be a non-negative integer, got '${v}'`);
  return Number(v);
}
function numArg(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isFinite(x)) throw new LaunchError(`--${name} must be a number, got '${v}'`);
  return x;
}

/**
 * Weights: DIR with transformer/ and vae/ folders (and text_encoder/, text_encoder_2/, tokenizer/,
 * tokenizer_2/ for --prompt), or a transformer index JSON (the other folders beside its folder).
 */
export function checkpointFolders(path: string): { root: string; transformer: string } {
  if (existsSync(path) && statSync(path).isDirectory()) return { root: path, transformer: join(path, 'transformer') };
  if (path.endsWith('.json')) return { root: dirname(dirname(resolve(path))), transformer: dirname(path) };
  throw new LaunchError(`--weights ${path}: expected a folder with transformer/ and vae/, or transformer/*.safetensors.index.json`);
}

function freeGpuBytes(): number | undefined {
  const r = spawnSync('nvidia-smi', ['--query-gpu=memory.free', '--format=csv,noheader,nounits'], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const mib = Number(String(r.stdout).trim().split('\n')[0]);
  return Number.isFinite(mib) ? mib * 1024 * 1024 : undefined;
}

const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;
const fmtS = (s: number): string => (s >= 120 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(1)} s`);

function progressPrinter(): Progress {
  const tty = Boolean(process.stderr.isTTY);
  let total = 0;
  return {
    step(i, n, s) {
      total += s;
      const per = total / i;
      const eta = per * (n - i);
      if (tty) {
        const w = 30;
        const done = Math.round((w * i) / n);
        process.stderr.write(`\rstep ${i}/${n} [${'#'.repeat(done)}${'.'.repeat(w - done)}] ${per.toFixed(2)} s/step ETA ${fmtS(eta)}${i === n ? '\n' : ''}`);
      } else {
        process.stdout.write(`step ${i}/${n} ${s.toFixed(2)} s (${per.toFixed(2)} s/step, ETA ${fmtS(eta)})\n`);
      }
    },
    stage(name, s, detail) {
      process.stdout.write(`${name}: ${s.toFixed(2)} s (${detail})\n`);
    },
  };
}

async function runPipeline(plan: PipelinePlan, here: string, argv: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        weights: { type: 'string' }, 'random-weights': { type: 'string' }, 'prompt-embeds': { type: 'string' }, out: { type: 'string' },
        steps: { type: 'string' }, shift: { type: 'string' }, guidance: { type: 'string' }, seed: { type: 'string' },
        height: { type: 'string' }, width: { type: 'string' }, frames: { type: 'string' }, 'dump-video': { type: 'string' },
        prompt: { type: 'string' }, tokenizers: { type: 'string' }, 'dump-text': { type: 'string' },
      },
    }).values;
  } catch (e) {
    throw new LaunchError(`${(e as Error).message.split('\n')[0]}\n${USAGE}`);
  }
  const frames = intArg(v.frames, 'frames', plan.frames);
  const height = intArg(v.height, 'height', plan.height);
  const width = intArg(v.width, 'width', plan.width);
  if ((frames - 1) % 4 !== 0 || frames < 1) throw new LaunchError(`--frames must be 4n + 1 (1, 5, ..., 129), got ${frames}`);
  if (height % 16 !== 0 || height <= 0) throw new LaunchError(`--height must be a positive multiple of 16, got ${height}`);
  if (width % 16 !== 0 || width <= 0) throw new LaunchError(`--width must be a positive multiple of 16, got ${width}`);
  if (frames !== plan.frames || height !== plan.height || width !== plan.width)
    throw new LaunchError(`this build is for ${plan.height}x${plan.width}x${plan.frames} (height x width x frames); recompile with mc compile --set height=${height} --set width=${width} --set frames=${frames}`);
  const steps = intArg(v.steps, 'steps', 50);
  if (steps < 1) throw new LaunchError('--steps must be at least 1');
  const opts: Options = { steps, shift: numArg(v.shift, 'shift', 7), guidance: numArg(v.guidance, 'guidance', 6), seed: intArg(v.seed, 'seed', 0) };
  if (!v.out) throw new LaunchError(`--out is required\n${USAGE}`);
  if ((v.prompt === undefined) === (v['prompt-embeds'] === undefined)) throw new LaunchError(`give exactly one of --prompt and --prompt-embeds\n${USAGE}`);
  if ((v.weights === undefined) === (v['random-weights'] === undefined)) throw new LaunchError(`give exactly one of --weights and --random-weights\n${USAGE}`);
  const rseed = v['random-weights'] === undefined ? undefined : intArg(v['random-weights'], 'random-weights', 0);

  // Everything is checked before any executable starts: the prompt (tokenized here), then every checkpoint.
  const t0 = Date.now();
  const root = v.weights === undefined ? undefined : checkpointFolders(v.weights);
  let prompt: Prompt | undefined;
  let ids: PromptIds | undefined;
  if (v.prompt === undefined) prompt = readPrompt(v['prompt-embeds']!, plan.dit);
  else {
    if (!plan.text)
      throw new LaunchError('this build has no text encoders, so it takes --prompt-embeds; for --prompt, recompile with mc compile ... --pipeline hunyuan-video --text-encoder examples/hunyuan-video/text-encoder.mc --clip examples/hunyuan-video/clip-text.mc');
    if (v.tokenizers === undefined && !root)
      throw new LaunchError('--prompt with --random-weights needs --tokenizers DIR (a folder with tokenizer/tokenizer.json and tokenizer_2/vocab.json + merges.txt, e.g. the diffusers checkpoint)');
    const dir = v.tokenizers ?? root!.root;
    ids = tokenizePrompt(plan.dit, plan.text, loadTokenizers(dir, v.tokenizers === undefined ? `the --weights folder ${dir}` : `--tokenizers ${dir}`), v.prompt);
    for (const w of ids.warnings) process.stdout.write(`warning: ${w}\n`);
  }
  // The decoder programs differ only in their tile shape: one check and one weights plan serve all.
  const models = [plan.dit, plan.vae, ...(ids && plan.text ? [plan.text.llm, plan.text.clip] : [])];
  const wplans = new Map<ModelPlan, string>();
  if (root) {
    const errs: string[] = [];
    for (const m of models) {
      try { wplans.set(m, checkWeights(m, openCheckpoint(m === plan.dit ? root.transformer : join(root.root, m.folder)))); } catch (e) { if (!(e instanceof LaunchError)) throw e; errs.push(e.message); }
    }
    if (errs.length > 0) throw new LaunchError(errs.join('\n'));
  }
  if (plan.backend === 'cuda') {
    const need = Math.max(...[...models, ...plan.vaeTiles].map((m) => m.weightBytes + m.arenaBytes)) + 2 ** 30;
    const free = freeGpuBytes();
    if (free === undefined) process.stdout.write('warning: nvidia-smi not found; free GPU memory not checked\n');
    else if (free < need) throw new LaunchError(`not enough free GPU memory: the plan needs ${gib(need)} (largest program plus 1 GiB of context), ${gib(free)} is free`);
  }
  const work = mkdtempSync(join(tmpdir(), 'mc-launch-'));
  const servers: Server[] = [];
  try {
    const start = (m: Program, wplan: string | undefined, tag: string): Server => {
      const args = wplan === undefined ? ['--random-weights', String(rseed)] : ['--weights-plan', join(work, `${tag}.weights`)];
      if (wplan !== undefined) writeFileSync(join(work, `${tag}.weights`), wplan);
      const s = new Server(join(here, m.dir, 'model'), args, work, tag);
      servers.push(s);
      return s;
    };
    const progress = progressPrinter();
    // The text encoders run first, each started, run once and stopped (GPU memory holds one program).
    if (ids && plan.text) {
      const t = Date.now();
      prompt = await encodePrompt(plan.dit, plan.text, ids, async (m, ins) => {
        const s = start(m, wplans.get(m), m.dir);
        try {
          await s.ready();
          return await s.forward(ins);
        } finally {
          await s.close();
        }
      });
      progress.stage('encode text', (Date.now() - t) / 1000, `${ids.llmMask.filter((x) => x).length} Llama tokens, ${ids.eos + 1} CLIP tokens`);
    }
    if (v['dump-text']) writeFileSync(v['dump-text'], serialize(textDump(prompt!, ids)));
    const t1 = Date.now();
    const dit = start(plan.dit, wplans.get(plan.dit), 'dit');
    await dit.ready();
    progress.stage('load dit', (Date.now() - t1) / 1000, `${gib(plan.dit.weightBytes)} weights, ${gib(plan.dit.arenaBytes)} arena`);
    // The decoder programs start when the DiT is done, one at a time (GPU memory holds one program);
    // tiles come grouped by shape, so each program starts about once per temporal window.
    let vae: { m: Program; s: Server } | undefined;
    const vaeForward: DecoderForward = async (m, ins) => {
      if (vae?.m !== m) {
        await dit.close();
        await vae?.s.close();
        const t = Date.now();
        const tag = `vae-${input(m, 'latent').shape.slice(2).join('x')}`;
        vae = { m, s: start(m, wplans.get(plan.vae), tag) };
        await vae.s.ready();
        progress.stage(`load ${tag}`, (Date.now() - t) / 1000, `${gib(m.weightBytes)} weights, ${gib(m.arenaBytes)} arena`);
      }
      return vae.s.forward(ins);
    };
    const r = await generate(plan, opts, prompt!, dit.forward, vaeForward, progress);
    const t2 = Date.now();
    const frames = toFrames(r.video, plan.frames, plan.height, plan.width);
    if (v['dump-video']) writeFileSync(v['dump-video'], serialize(new Map([['video', { dtype: 'fp32' as DType, shape: [3, plan.frames, plan.height, plan.width], data: r.video }]])));
    const msg = writeVideo(frames, plan.width, plan.height, plan.fps, v.out);
    progress.stage('write', (Date.now() - t2) / 1000, msg);
    process.stdout.write(`total: ${((Date.now() - t0) / 1000).toFixed(2)} s\n`);
    return 0;
  } finally {
    for (const s of servers) await s.close().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

async function runSingle(plan: SinglePlan, here: string, argv: string[]): Promise<number> {
  const r = spawnSync(join(here, plan.model.dir, 'model'), argv, { stdio: 'inherit' });
  return r.status ?? 1;
}

/** The launcher's entry point: prints one line per error and returns the exit status. */
export async function main(plan: Plan, here: string, argv: string[]): Promise<number> {
  try {
    return plan.kind === 'single' ? await runSingle(plan, here, argv) : await runPipeline(plan, here, argv);
  } catch (e) {
    if (e instanceof LaunchError) {
      process.stderr.write(`error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
