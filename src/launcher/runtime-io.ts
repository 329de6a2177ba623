// The launcher runtime's self-contained helpers: numbers (bf16/fp16, the seeded noise, sigmas),
// safetensors reading and writing, an executable in loop mode, and frames out (PNG, MP4 through
// ffmpeg). Like runtime.ts it imports only Node built-ins: `mc compile` prints both into DIR/launcher.ts.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { deflateSync } from 'node:zlib';

export type DType = 'bf16' | 'fp16' | 'fp32' | 'i32' | 'i64' | 'bool';

export class LaunchError extends Error {}

// ---------------------------------------------------------------- numbers

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
export function bf16Bits(x: number): number {
  f32[0] = x;
  if (Number.isNaN(x)) return 0x7fc0;
  const u = u32[0];
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}
export function bf16ToNumber(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}
export const roundBf16 = (x: number): number => bf16ToNumber(bf16Bits(x));
export function fp16ToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** The counter-based generator of src/eval/random.ts (the same numbers as `mc inputs --random`). */
export function hash32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}
/** FNV-1a over the UTF-8 bytes of a name. */
export function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(name, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}
/** Uniform in (0, 1): element i, stream j (0 or 1). */
export const uniform = (key: number, i: number, j: number): number => (hash32(key ^ hash32((2 * i + j) >>> 0)) + 0.5) / 4294967296;

/** Initial latents: N(0, 1) per element from (seed, 'latent', index), rounded to fp32. */
export function noise(seed: number, n: number): Float32Array {
  const key = hash32(nameHash('latent') ^ hash32(seed >>> 0));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(uniform(key, i, 0))) * Math.cos(2 * Math.PI * uniform(key, i, 1));
  return out;
}

/** FlowMatchDiscreteScheduler: sigmas linspace(1, 0, steps + 1), shifted s*x / (1 + (s - 1)*x), in fp32. */
export function sigmas(steps: number, shift: number): number[] {
  const out: number[] = [];
  for (let i = 0; i <= steps; i++) {
    const x = Math.fround(1 - i / steps);
    out.push(Math.fround((shift * x) / (1 + (shift - 1) * x)));
  }
  return out;
}

/** Embedded guidance as the reference feeds it: bf16(g) * 1000 in bf16 (6.0 -> 6016). */
export const guidanceInput = (g: number): number => roundBf16(roundBf16(g) * 1000);

// ---------------------------------------------------------------- safetensors

export interface Tensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array;
}

const ST: Record<string, DType> = { BF16: 'bf16', F16: 'fp16', F32: 'fp32', I32: 'i32', I64: 'i64', BOOL: 'bool' };
export const ST_NAME: Record<DType, string> = { bf16: 'BF16', fp16: 'F16', fp32: 'F32', i32: 'I32', i64: 'I64', bool: 'BOOL' };
export const SIZE: Record<DType, number> = { bf16: 2, fp16: 2, fp32: 4, i32: 4, i64: 8, bool: 1 };
export const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
export const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`;

export interface StEntry {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly begin: number; // absolute byte offset in the file
  readonly end: number;
}

/** Reads and validates a safetensors header (not the data): a truncated or corrupt file throws here. */
export function readHeader(path: string): Map<string, StEntry> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    throw new LaunchError(`cannot open ${path}`);
  }
  try {
    const size = statSync(path).size;
    const head = Buffer.alloc(8);
    if (size < 8 || readSync(fd, head, 0, 8, 0) !== 8) throw new LaunchError(`${path}: truncated (${size} bytes; a safetensors file starts with an 8-byte header length)`);
    const n = Number(head.readBigUInt64LE(0));
    if (n > size - 8 || n > 1 << 30) throw new LaunchError(`${path}: corrupt or truncated: the header claims ${n} bytes, the file has ${size - 8} after the length`);
    const hb = Buffer.alloc(n);
    readSync(fd, hb, 0, n, 8);
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(hb.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new LaunchError(`${path}: corrupt: the header is not JSON`);
    }
    const out = new Map<string, StEntry>();
    const base = 8 + n;
    for (const [name, v] of Object.entries(json)) {
      if (name === '__metadata__') continue;
      const e = v as { dtype?: string; shape?: number[]; data_offsets?: number[] };
      const dtype = ST[e.dtype ?? ''];
      if (!dtype || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2)
        throw new LaunchError(`${path}: corrupt: tensor '${name}' has a malformed header entry`);
      const [b, en] = e.data_offsets;
      if (en - b !== numel(e.shape) * SIZE[dtype]) throw new LaunchError(`${path}: corrupt: tensor '${name}' has ${en - b} bytes, ${dtype}${shapeText(e.shape)} needs ${numel(e.shape) * SIZE[dtype]}`);
      if (base + en > size) throw new LaunchError(`${path}: truncated: tensor '${name}' ends at byte ${base + en}, the file has ${size}`);
      out.set(name, { dtype, shape: e.shape, begin: base + b, end: base + en });
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

export function readTensors(path: string): Map<string, Tensor> {
  const entries = readHeader(path);
  const buf = readFileSync(path);
  const out = new Map<string, Tensor>();
  for (const [name, e] of entries) {
    const n = numel(e.shape);
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const o = e.begin + i * SIZE[e.dtype];
      switch (e.dtype) {
        case 'bf16': data[i] = bf16ToNumber(buf.readUInt16LE(o)); break;
        case 'fp16': data[i] = fp16ToNumber(buf.readUInt16LE(o)); break;
        case 'fp32': data[i] = buf.readFloatLE(o); break;
        case 'i32': data[i] = buf.readInt32LE(o); break;
        case 'i64': data[i] = Number(buf.readBigInt64LE(o)); break;
        case 'bool': data[i] = buf[o] ? 1 : 0; break;
      }
    }
    out.set(name, { dtype: e.dtype, shape: e.shape, data });
  }
  return out;
}

/** Serializes tensors; float data is written as given (F32 for floats: the executable rounds to its storage dtype). */
export function serialize(tensors: ReadonlyMap<string, Tensor>): Buffer {
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const [name, t] of tensors) {
    const bytes = numel(t.shape) * SIZE[t.dtype];
    header[name] = { dtype: ST_NAME[t.dtype], shape: t.shape, data_offsets: [at, at + bytes] };
    at += bytes;
  }
  let h = JSON.stringify(header);
  while ((8 + h.length) % 8) h += ' ';
  const out = Buffer.alloc(8 + h.length + at);
  out.writeBigUInt64LE(BigInt(h.length), 0);
  out.write(h, 8, 'utf8');
  let o = 8 + h.length;
  for (const t of tensors.values()) {
    for (let i = 0; i < t.data.length; i++, o += SIZE[t.dtype]) {
      const v = t.data[i];
      switch (t.dtype) {
        case 'bf16': out.writeUInt16LE(bf16Bits(v), o); break;
        case 'fp16': throw new LaunchError('fp16 inputs are written as F32');
        case 'fp32': out.writeFloatLE(v, o); break;
        case 'i32': out.writeInt32LE(v, o); break;
        case 'i64': out.writeBigInt64LE(BigInt(v), o); break;
        case 'bool': out[o] = v ? 1 : 0; break;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- frames, PNG, MP4

/** uint8 RGB frames from a [3, F, H, W] video in [-1, 1]: (x / 2 + 0.5) clamped, times 255, truncated. */
export function toFrames(video: Float32Array, F: number, H: number, W: number): Buffer[] {
  const out: Buffer[] = [];
  for (let f = 0; f < F; f++) {
    const b = Buffer.alloc(H * W * 3);
    for (let p = 0; p < H * W; p++)
      for (let c = 0; c < 3; c++) b[p * 3 + c] = Math.floor(Math.min(1, Math.max(0, video[(c * F + f) * H * W + p] / 2 + 0.5)) * 255);
    out.push(b);
  }
  return out;
}

const CRC = ((): Uint32Array => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; t[n] = c >>> 0; }
  return t;
})();
function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** An 8-bit RGB PNG (one IDAT, filter 0 on every row). */
export function png(rgb: Buffer, W: number, H: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(W, 0); ihdr.writeUInt32BE(H, 4); ihdr[8] = 8; ihdr[9] = 2;
  const raw = Buffer.alloc(H * (W * 3 + 1));
  for (let y = 0; y < H; y++) rgb.copy(raw, y * (W * 3 + 1) + 1, y * W * 3, (y + 1) * W * 3);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 6 })), chunk('IEND', Buffer.alloc(0))]);
}

// The environment is passed explicitly so a caller's PATH (process.env) decides where ffmpeg is looked up.
const hasFfmpeg = (): boolean => spawnSync('ffmpeg', ['-version'], { stdio: 'ignore', env: process.env }).status === 0;

/** Writes the frames: MP4 (libx264 yuv420p through ffmpeg) when `out` ends in .mp4 and ffmpeg runs, else PNGs. Returns a message. */
export function writeVideo(frames: Buffer[], W: number, H: number, fps: number, out: string): string {
  if (/\.mp4$/i.test(out) && hasFfmpeg()) {
    const tmp = join(dirname(resolve(out)), `.${basename(out)}.partial.mp4`);
    const r = spawnSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', String(fps), '-i', '-', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', tmp], { input: Buffer.concat(frames) });
    if (r.status !== 0) { rmSync(tmp, { force: true }); throw new LaunchError(`ffmpeg failed: ${String(r.stderr ?? '').trim()}`); }
    renameSync(tmp, out);
    return `wrote ${out} (${frames.length} frames, ${W}x${H}, ${fps} fps)`;
  }
  const dir = /\.mp4$/i.test(out) ? out.replace(/\.mp4$/i, '_frames') : out;
  const tmp = `${dir}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  frames.forEach((f, i) => writeFileSync(join(tmp, `frame_${String(i).padStart(5, '0')}.png`), png(f, W, H)));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  const why = /\.mp4$/i.test(out) ? 'ffmpeg not found; ' : '';
  return `${why}wrote ${frames.length} PNG frames (${W}x${H}) to ${dir}/ (play at ${fps} fps: ffmpeg -framerate ${fps} -i ${dir}/frame_%05d.png -pix_fmt yuv420p video.mp4)`;
}

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
