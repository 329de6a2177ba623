// The launcher's runtime: everything a generated DIR/launcher.ts does, as one module that imports
// only Node built-ins. `mc compile` copies these statements into DIR/launcher.ts after the PLAN
// constant it builds (src/launcher/emit.ts), so DIR runs on a machine with Node and nothing else.
// Tests import this module directly to run the same pipeline on `mc eval` (see `generate`).
//
// Pipeline (docs/PIPELINE.md): seeded noise -> flow-matching Euler loop on the DiT executable (one
// process, weights resident, `--serve`) -> latents / scaling -> tiled decode on the VAE decoder
// executable -> uint8 frames -> MP4 through ffmpeg, else PNG frames.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type DType, type Tensor, LaunchError, guidanceInput, noise, numel, readTensors, serialize, shapeText, sigmas, toFrames, writeVideo } from './runtime-io.js';
import { checkWeights, openCheckpoint } from './runtime-weights.js';

export * from './runtime-io.js';
export * from './runtime-weights.js';

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

export interface ModelPlan {
  readonly dir: string; // relative to the launcher: the executable is DIR/model
  readonly model: string;
  readonly folder: string; // the checkpoint folder: transformer or vae
  readonly weights: readonly TensorSpec[]; // declared dtypes (what a checkpoint stores)
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly weightBytes: number; // on the GPU: all weights, or two layer slots when streamed (--offload-weights)
  readonly arenaBytes: number;
  readonly map: WeightMap;
}

export interface PipelinePlan {
  readonly kind: 'hunyuan-video';
  readonly backend: 'cpu' | 'cuda';
  readonly dit: ModelPlan;
  readonly vae: ModelPlan;
  readonly frames: number;
  readonly height: number;
  readonly width: number;
  readonly scaling: number; // the VAE's scaling factor: latents are divided by it before decoding
  readonly fps: number;
}

export interface SinglePlan {
  readonly kind: 'single';
  readonly backend: 'cpu' | 'cuda';
  readonly model: ModelPlan;
}

export type Plan = PipelinePlan | SinglePlan;


// ---------------------------------------------------------------- executables

export type Forward = (inputs: ReadonlyMap<string, Tensor>) => Promise<Map<string, Tensor>>;

/** One executable in loop mode: weights resident, one `run IN OUT` per forward. */
export class Server {
  private proc: ChildProcessWithoutNullStreams;
  private buf = '';
  private waiting: ((line: string) => void)[] = [];
  private lines: string[] = [];
  private err = '';
  private exited: number | null = null;
  private n = 0;
  lastMs = 0;

  constructor(exe: string, args: string[], private readonly work: string, private readonly tag: string) {
    this.proc = spawn(exe, ['--serve', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (d: string) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) { this.push(this.buf.slice(0, i)); this.buf = this.buf.slice(i + 1); }
    });
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (d: string) => { this.err += d; });
    this.proc.on('error', (e) => { this.err += String(e.message); this.exited = -1; this.flush(); });
    this.proc.on('exit', (code) => { this.exited = code ?? -1; this.flush(); });
  }
  private push(l: string): void { const w = this.waiting.shift(); if (w) w(l); else this.lines.push(l); }
  private flush(): void { for (const w of this.waiting.splice(0)) w(''); }
  private next(): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.exited !== null) return Promise.resolve('');
    return new Promise((res) => this.waiting.push(res));
  }
  private fail(): never {
    throw new LaunchError(`${this.tag}: the executable stopped (exit ${this.exited}): ${this.err.trim() || 'no message'}`);
  }
  /** Waits for "ready" (weights resident). */
  async ready(): Promise<void> {
    for (;;) {
      const l = await this.next();
      if (l.startsWith('ready')) return;
      if (l === '' && this.exited !== null) this.fail();
    }
  }
  readonly forward: Forward = async (inputs) => {
    const k = this.n++;
    const inp = join(this.work, `${this.tag}-in-${k % 2}.safetensors`);
    const out = join(this.work, `${this.tag}-out-${k % 2}.safetensors`);
    writeFileSync(inp, serialize(inputs));
    this.proc.stdin.write(`run ${inp}\t${out}\n`);
    for (;;) {
      const l = await this.next();
      if (l.startsWith('ok ')) { this.lastMs = Number(l.slice(3)); return readTensors(out); }
      if (l === '' && this.exited !== null) this.fail();
    }
  };
  async close(): Promise<void> {
    if (this.exited === null) {
      this.proc.stdin.end('quit\n');
      await new Promise<void>((res) => { if (this.exited !== null) res(); else this.proc.on('exit', () => res()); });
    }
  }
}

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

const input = (m: ModelPlan, name: string): TensorSpec => {
  const t = m.inputs.find((x) => x.name === name);
  if (!t) throw new LaunchError(`${m.model} has no input '${name}'`);
  return t;
};

/** Latent-space tiles along one axis: size `tile`, overlap tile/4, the last tile clamped to the end. */
export function tiles1d(n: number, tile: number): number[] {
  if (n <= tile) return [0];
  const stride = tile - Math.floor(tile / 4);
  const out: number[] = [];
  for (let s = 0; ; s += stride) {
    if (s + tile >= n) { out.push(n - tile); break; }
    out.push(s);
  }
  return [...new Set(out)];
}

/**
 * Runs the sampling loop and the tiled decode with the given forwards (the executables, or `mc
 * eval` in tests). Returns the decoded video [3, F, H, W] in [-1, 1] (fp32) and the final latents.
 */
export async function generate(plan: PipelinePlan, opts: Options, prompt: Prompt, dit: Forward, vae: Forward, progress?: Progress): Promise<{ video: Float32Array; latents: Float32Array; tiles: number }> {
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

  // Decode: latents / scaling, then tiles of the decoder's latent shape, blended with linear ramps.
  const t1 = Date.now();
  const z = x.map((v) => v / plan.scaling);
  const vin = input(plan.vae, 'latent');
  const [, , tT, th, tw] = vin.shape;
  const vout = plan.vae.outputs[0];
  const [, OC, oF, oH, oW] = vout.shape;
  const F = 1 + 4 * (T - 1);
  const H = lh * 8;
  const W = lw * 8;
  const acc = new Float64Array(OC * F * H * W);
  const wsum = new Float64Array(F * H * W);
  const ramp = (pos: number, len: number, lo: boolean, hi: boolean, ov: number): number => {
    let r = 1;
    if (lo && ov > 0) r = Math.min(r, (pos + 1) / (ov + 1));
    if (hi && ov > 0) r = Math.min(r, (len - pos) / (ov + 1));
    return r;
  };
  const ts0 = tiles1d(T, tT);
  const hs0 = tiles1d(lh, th);
  const ws0 = tiles1d(lw, tw);
  let count = 0;
  for (const t of ts0) for (const h of hs0) for (const w of ws0) {
    const tile = new Float32Array(numel(vin.shape));
    for (let c = 0; c < C; c++) for (let a = 0; a < tT; a++) for (let b = 0; b < th; b++) for (let d = 0; d < tw; d++)
      tile[((c * tT + a) * th + b) * tw + d] = z[((c * T + t + a) * lh + h + b) * lw + w + d];
    const out = (await vae(new Map([['latent', { dtype: 'fp32' as DType, shape: vin.shape, data: tile }]]))).get(vout.name);
    if (!out) throw new LaunchError(`${plan.vae.model}: no '${vout.name}' in the output`);
    count++;
    // Pixel placement: a window starting at latent frame t > 0 drops its first decoded frame (the
    // causal first frame) and covers frames 4t+1 ...; spatial tiles are 8x.
    const f0 = t === 0 ? 0 : 4 * t + 1;
    const skip = t === 0 ? 0 : 1;
    const nf = oF - skip;
    const ovF = ts0.length > 1 ? 4 * Math.floor(tT / 4) : 0;
    const ovH = hs0.length > 1 ? 8 * Math.floor(th / 4) : 0;
    const ovW = ws0.length > 1 ? 8 * Math.floor(tw / 4) : 0;
    for (let f = 0; f < nf; f++) {
      const wf = ramp(f, nf, t !== ts0[0], t !== ts0[ts0.length - 1], ovF);
      for (let yy = 0; yy < oH; yy++) {
        const wy = ramp(yy, oH, h !== hs0[0], h !== hs0[hs0.length - 1], ovH);
        for (let xx = 0; xx < oW; xx++) {
          const wgt = wf * wy * ramp(xx, oW, w !== ws0[0], w !== ws0[ws0.length - 1], ovW);
          const p = ((f0 + f) * H + 8 * h + yy) * W + 8 * w + xx;
          wsum[p] += wgt;
          for (let c = 0; c < OC; c++) acc[c * F * H * W + p] += wgt * out.data[((c * oF + f + skip) * oH + yy) * oW + xx];
        }
      }
    }
  }
  const video = new Float32Array(acc.length);
  for (let c = 0; c < OC; c++) for (let p = 0; p < F * H * W; p++) video[c * F * H * W + p] = acc[c * F * H * W + p] / wsum[p];
  progress?.stage('decode', (Date.now() - t1) / 1000, `${count} decoder call${count === 1 ? '' : 's'} of ${tT}x${th}x${tw} latents`);
  return { video, latents: x, tiles: count };
}

// ---------------------------------------------------------------- the command line

const USAGE = 'usage: node launcher.js (--weights DIR_OR_INDEX | --random-weights SEED) --prompt-embeds E.safetensors --out video.mp4 [--steps 50] [--shift 7] [--guidance 6] [--seed 0] [--height H --width W --frames F] [--dump-video V.safetensors]';

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

/** The prompt embeddings: `text`/`prompt_embeds`, `text_mask`/`prompt_attention_mask`, `text_pooled`/`pooled_prompt_embeds`. */
export function readPrompt(path: string, dit: ModelPlan): Prompt {
  const ts = readTensors(path);
  const get = (names: string[], spec: TensorSpec): Tensor => {
    const t = names.map((n) => ts.get(n)).find((x) => x);
    if (!t) throw new LaunchError(`${path}: no tensor ${names.map((n) => `'${n}'`).join(' or ')}; expected ${shapeText(spec.shape)}`);
    if (numel(t.shape) !== numel(spec.shape) || t.shape.filter((d) => d !== 1).join() !== spec.shape.filter((d) => d !== 1).join())
      throw new LaunchError(`${path}: '${names.find((n) => ts.has(n))}' has shape ${shapeText(t.shape)}, the DiT expects ${shapeText(spec.shape)}`);
    return { dtype: t.dtype, shape: spec.shape, data: t.data };
  };
  const mask = get(['text_mask', 'prompt_attention_mask'], input(dit, 'text_mask'));
  if (!Array.from(mask.data).some((v) => v !== 0)) throw new LaunchError(`${path}: the text mask has no valid token`);
  return { text: get(['text', 'prompt_embeds'], input(dit, 'text')), mask, pooled: get(['text_pooled', 'pooled_prompt_embeds'], input(dit, 'text_pooled')) };
}

/** Weights: DIR with transformer/ and vae/ folders, or a transformer index JSON (vae/ beside its folder). */
export function checkpointFolders(path: string): { transformer: string; vae: string } {
  if (existsSync(path) && statSync(path).isDirectory()) return { transformer: join(path, 'transformer'), vae: join(path, 'vae') };
  if (path.endsWith('.json')) return { transformer: dirname(path), vae: join(dirname(dirname(resolve(path))), 'vae') };
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
  if (!v['prompt-embeds']) throw new LaunchError(`--prompt-embeds is required\n${USAGE}`);
  if ((v.weights === undefined) === (v['random-weights'] === undefined)) throw new LaunchError(`give exactly one of --weights and --random-weights\n${USAGE}`);
  const rseed = v['random-weights'] === undefined ? undefined : intArg(v['random-weights'], 'random-weights', 0);

  // Everything is checked before any executable starts.
  const t0 = Date.now();
  const prompt = readPrompt(v['prompt-embeds'], plan.dit);
  let ditPlan: string | undefined;
  let vaePlan: string | undefined;
  if (v.weights !== undefined) {
    const f = checkpointFolders(v.weights);
    const errs: string[] = [];
    try { ditPlan = checkWeights(plan.dit, openCheckpoint(f.transformer)); } catch (e) { if (!(e instanceof LaunchError)) throw e; errs.push(e.message); }
    try { vaePlan = checkWeights(plan.vae, openCheckpoint(f.vae)); } catch (e) { if (!(e instanceof LaunchError)) throw e; errs.push(e.message); }
    if (errs.length > 0) throw new LaunchError(errs.join('\n'));
  }
  if (plan.backend === 'cuda') {
    const need = Math.max(plan.dit.weightBytes + plan.dit.arenaBytes, plan.vae.weightBytes + plan.vae.arenaBytes) + 2 ** 30;
    const free = freeGpuBytes();
    if (free === undefined) process.stdout.write('warning: nvidia-smi not found; free GPU memory not checked\n');
    else if (free < need) throw new LaunchError(`not enough free GPU memory: the plan needs ${gib(need)} (largest program plus 1 GiB of context), ${gib(free)} is free`);
  }
  const work = mkdtempSync(join(tmpdir(), 'mc-launch-'));
  const servers: Server[] = [];
  try {
    const start = (m: ModelPlan, wplan: string | undefined, tag: string): Server => {
      const args = wplan === undefined ? ['--random-weights', String(rseed)] : ['--weights-plan', join(work, `${tag}.weights`)];
      if (wplan !== undefined) writeFileSync(join(work, `${tag}.weights`), wplan);
      const s = new Server(join(here, m.dir, 'model'), args, work, tag);
      servers.push(s);
      return s;
    };
    const progress = progressPrinter();
    const dit = start(plan.dit, ditPlan, 'dit');
    await dit.ready();
    progress.stage('load dit', (Date.now() - t0) / 1000, `${gib(plan.dit.weightBytes)} weights, ${gib(plan.dit.arenaBytes)} arena`);
    // The VAE process starts when the DiT is done (GPU memory holds one program at a time).
    let vae: Server | undefined;
    const vaeForward: Forward = async (ins) => {
      if (!vae) {
        await dit.close();
        const t = Date.now();
        vae = start(plan.vae, vaePlan, 'vae');
        await vae.ready();
        progress.stage('load vae', (Date.now() - t) / 1000, `${gib(plan.vae.weightBytes)} weights, ${gib(plan.vae.arenaBytes)} arena`);
      }
      return vae.forward(ins);
    };
    const r = await generate(plan, opts, prompt, dit.forward, vaeForward, progress);
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
