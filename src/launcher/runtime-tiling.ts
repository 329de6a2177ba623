// The tiled VAE decode, step for step as the reference does it (HunyuanVideo's hyvideo/vae/ac3d.py:
// temporal_tiled_decode, spatial_tiled_decode, blend_t / blend_v / blend_h, as recorded in
// ../shared/reference/hunyuanvideo.md §2.5; diffusers' AutoencoderKLHunyuanVideo has the same
// structure). Part of the launcher (Node built-ins only). In latent units, with HunyuanVideo's
// defaults (256 px and 64 frames, 25% overlap):
//   - temporal windows when T > 16: [i, min(i + 17, T)) for i = 0, 12, 24, ... < T; each decodes to
//     1 + 4 (Tw - 1) frames, every window but the first drops its first frame, is blended over 16
//     frames with the previous window's last ones, and keeps 48 frames (the first keeps 49);
//   - inside each window, spatial tiles when h or w > 32: [i, min(i + 32, h)) x [j, min(j + 32, w))
//     for i, j = 0, 24, 48, ... < h, w; each decodes to 8x the size, is blended over 64 px with the
//     tile above and the tile to its left, and keeps 192 x 192 px.
// Tiles at the end are shorter (never shifted), so one video needs decoders of a few tile shapes:
// `mc compile --pipeline` builds one program per shape (tileShapes) and `decode` is given each tile's
// latent. The blends run in place and in the reference's order (a tile is blended with neighbours
// that were themselves already blended), so the result is the reference's, not an approximation.
import { LaunchError } from './runtime-io.js';

/** Tile geometry in latent units (the reference's tile_sample_* divided by the VAE's 4x / 8x). */
export interface Tiling {
  readonly frames: number; // temporal tiling when T > frames; windows of frames + 1 latent frames
  readonly framesStride: number;
  readonly size: number; // spatial tiling when h or w > size; tiles of size x size
  readonly sizeStride: number;
}

/** HunyuanVideo's defaults: 256 px (32 latent) tiles at stride 192 px, 64 frames (16) at stride 48 (12). */
export const HUNYUAN_TILING: Tiling = { frames: 16, framesStride: 12, size: 32, sizeStride: 24 };

/** A volume [c, f, h, w] in fp32, row-major. */
export interface Vol {
  readonly c: number;
  readonly f: number;
  readonly h: number;
  readonly w: number;
  readonly d: Float32Array;
}

export const vol = (c: number, f: number, h: number, w: number): Vol => ({ c, f, h, w, d: new Float32Array(c * f * h * w) });

/** [start, end) along one axis. */
export type Span = [number, number];

/** Spans along one axis: starts 0, stride, 2 stride, ... < n (the reference's range(0, n, stride)). */
export function tileRanges(n: number, size: number, stride: number): Span[] {
  if (stride <= 0 || size < stride) throw new LaunchError(`tiling: stride ${stride} must be in (0, ${size}]`);
  const out: Span[] = [];
  for (let s = 0; s < n; s += stride) out.push([s, Math.min(s + size, n)]);
  return out;
}

/** The temporal windows of a T-frame latent, and the spatial tiles (rows x cols) inside each. */
export function tileGrid(T: number, h: number, w: number, tl: Tiling): { windows: Span[]; rows: Span[]; cols: Span[] } {
  const windows: Span[] = T > tl.frames ? tileRanges(T, tl.frames + 1, tl.framesStride) : [[0, T]];
  const spatial = h > tl.size || w > tl.size;
  return {
    windows,
    rows: spatial ? tileRanges(h, tl.size, tl.sizeStride) : [[0, h]],
    cols: spatial ? tileRanges(w, tl.size, tl.sizeStride) : [[0, w]],
  };
}

/** A decoder tile's latent [frames, h, w]. */
export type TileShape = [number, number, number];

/** The distinct tile shapes a T x h x w latent needs, largest first. */
export function tileShapes(T: number, h: number, w: number, tl: Tiling): TileShape[] {
  const g = tileGrid(T, h, w, tl);
  const keys = new Set<string>();
  for (const [t0, t1] of g.windows) for (const [h0, h1] of g.rows) for (const [w0, w1] of g.cols) keys.add(`${t1 - t0},${h1 - h0},${w1 - w0}`);
  return [...keys].map((k) => k.split(',').map(Number) as TileShape)
    .sort((a, b) => b[0] * b[1] * b[2] - a[0] * a[1] * a[2] || b[0] - a[0] || b[1] - a[1] || b[2] - a[2]);
}

/** Number of decoder calls for a T x h x w latent. */
export function tileCount(T: number, h: number, w: number, tl: Tiling): number {
  const g = tileGrid(T, h, w, tl);
  return g.windows.length * g.rows.length * g.cols.length;
}

function slice(z: Vol, t0: number, t1: number, h0: number, h1: number, w0: number, w1: number): Vol {
  const o = vol(z.c, t1 - t0, h1 - h0, w1 - w0);
  for (let c = 0; c < z.c; c++) for (let t = 0; t < o.f; t++) for (let y = 0; y < o.h; y++) {
    const src = ((c * z.f + t0 + t) * z.h + h0 + y) * z.w + w0;
    o.d.set(z.d.subarray(src, src + o.w), ((c * o.f + t) * o.h + y) * o.w);
  }
  return o;
}

// The reference's blends: b's first e entries along one axis become a's last e weighted by 1 - x/e
// plus b's own weighted by x/e, e = min(both lengths, extent). In place on b.
function blend(a: Vol, b: Vol, extent: number, axis: 'f' | 'h' | 'w'): void {
  const e = Math.min(a[axis], b[axis], extent);
  for (let c = 0; c < b.c; c++) for (let t = 0; t < b.f; t++) for (let y = 0; y < b.h; y++) for (let x = 0; x < b.w; x++) {
    const k = axis === 'f' ? t : axis === 'h' ? y : x;
    if (k >= e) continue;
    const at = (v: Vol, tt: number, yy: number, xx: number): number => ((c * v.f + tt) * v.h + yy) * v.w + xx;
    const src = axis === 'f' ? at(a, a.f - e + t, y, x) : axis === 'h' ? at(a, t, a.h - e + y, x) : at(a, t, y, a.w - e + x);
    const i = at(b, t, y, x);
    b.d[i] = a.d[src] * (1 - k / e) + b.d[i] * (k / e);
  }
}

/** Copies v[:, :nf, :nh, :nw] (clipped to v and to out) into out at (f0, y0, x0). */
function place(out: Vol, v: Vol, f0: number, y0: number, x0: number, nf: number, nh: number, nw: number, vf0 = 0): void {
  const F = Math.min(nf, v.f - vf0, out.f - f0);
  const H = Math.min(nh, v.h, out.h - y0);
  const W = Math.min(nw, v.w, out.w - x0);
  for (let c = 0; c < out.c; c++) for (let t = 0; t < F; t++) for (let y = 0; y < H; y++) {
    const src = ((c * v.f + vf0 + t) * v.h + y) * v.w;
    out.d.set(v.d.subarray(src, src + W), ((c * out.f + f0 + t) * out.h + y0 + y) * out.w + x0);
  }
}

export type TileDecoder = (latent: Vol) => Promise<Vol>;

/** One temporal window: spatial tiles decoded (grouped by shape, so each program starts once), blended, cropped. */
async function decodeWindow(z: Vol, rows: Span[], cols: Span[], tl: Tiling, decode: TileDecoder): Promise<Vol> {
  const tiled = rows.length > 1 || cols.length > 1;
  const tiles = rows.flatMap(([h0, h1], i) => cols.map(([w0, w1], j) => ({ i, j, lat: slice(z, 0, z.f, h0, h1, w0, w1) })));
  const key = (v: Vol): number => (v.h * 4096 + v.w);
  const order = [...tiles].sort((a, b) => key(b.lat) - key(a.lat));
  const dec = new Map<string, Vol>();
  for (const t of order) dec.set(`${t.i},${t.j}`, await decode(t.lat));
  const first = dec.get('0,0')!;
  const out = vol(first.c, first.f, 8 * z.h, 8 * z.w);
  const keep = 8 * tl.sizeStride;
  const ext = 8 * (tl.size - tl.sizeStride);
  for (let i = 0; i < rows.length; i++) for (let j = 0; j < cols.length; j++) {
    const t = dec.get(`${i},${j}`)!;
    if (t.c !== out.c || t.f !== out.f) throw new LaunchError(`tiled decode: a tile decoded to ${t.c}x${t.f} channels x frames, expected ${out.c}x${out.f}`);
    if (i > 0) blend(dec.get(`${i - 1},${j}`)!, t, ext, 'h');
    if (j > 0) blend(dec.get(`${i},${j - 1}`)!, t, ext, 'w');
    // Tiles keep their first 8 x stride rows and columns; an untiled latent keeps all it decodes to.
    place(out, t, 0, i * keep, j * keep, t.f, tiled ? keep : t.h, tiled ? keep : t.w);
  }
  return out;
}

/**
 * Decodes the latent z [c, T, h, w] into the video [3, 1 + 4 (T - 1), 8 h, 8 w] with the
 * reference's tiling. `decode` runs the decoder on one tile's latent.
 */
export async function tiledDecode(z: Vol, tl: Tiling, decode: TileDecoder): Promise<{ video: Vol; calls: number }> {
  const g = tileGrid(z.f, z.h, z.w, tl);
  let calls = 0;
  const counted: TileDecoder = (v) => { calls++; return decode(v); };
  const F = 1 + 4 * (z.f - 1);
  const keepF = 4 * tl.framesStride;
  const ext = 4 * (tl.frames - tl.framesStride);
  let video: Vol | undefined;
  let prev: Vol | undefined;
  for (let k = 0; k < g.windows.length; k++) {
    const [t0, t1] = g.windows[k];
    const full = await decodeWindow(slice(z, t0, t1, 0, z.h, 0, z.w), g.rows, g.cols, tl, counted);
    // Every window but the first drops its first decoded frame (it repeats the previous window's last).
    const cur = k === 0 ? full : slice(full, 1, full.f, 0, full.h, 0, full.w);
    video ??= vol(cur.c, F, cur.h, cur.w);
    if (k > 0) blend(prev!, cur, ext, 'f');
    const nf = g.windows.length === 1 ? F : k === 0 ? keepF + 1 : keepF;
    place(video, cur, k === 0 ? 0 : 1 + k * keepF, 0, 0, nf, cur.h, cur.w);
    prev = cur;
  }
  return { video: video!, calls };
}
