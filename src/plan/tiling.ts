// Tiled inference for video decoders (HunyuanVideo's VAE decode, hunyuanvideo.md §2.5): the spec
// is planned at the size of one tile, the tile grid is laid over the latent as the reference does
// (tiles start every `stride = tile x (1 - overlap)` latent positions, so an axis of n positions
// gets ceil(n / stride) tiles, the last ones shorter), and memory is the largest tile's peak while
// time is the sum over all tiles. Tile sizes are in the spec's own dims (frames, height, width);
// how they map to latent positions is read off the graph's 5-D input [B, C, T, H, W], not assumed.
// The temporal tile is a window of t latent frames whose stride is (t - 1) x (1 - overlap), as the
// causal VAE's first frame stands alone (17-frame windows every 12 latent frames by default).
import type { Graph } from '../ir/types.js';
import type { HardwareProfile } from '../hw/profile.js';
import { type InferencePlan, planInference } from './infer.js';
import type { Parallel } from './types.js';

export interface Tile {
  readonly frames: number;
  readonly height: number;
  readonly width: number;
}

/** The reference's defaults: 64-frame (17 latent) windows, 256 px tiles, 25% overlap. */
export const HUNYUAN_TILE: Tile = { frames: 65, height: 256, width: 256 };

export interface TiledPlan {
  readonly tile: Tile;
  readonly overlap: number;
  readonly latentTile: readonly [number, number, number]; // T, H, W of a full tile
  readonly grid: readonly [number, number, number]; // tiles along T, H, W
  readonly tiles: number;
  /** The plan of one full tile: its peak is the tiled decode's peak. */
  readonly plan: InferencePlan;
  readonly totalTimeSec: number;
  readonly flopsTiled: number;
  readonly flopsUntiled: number;
  readonly fits: boolean;
  /** With --tile auto: every size tried, largest first. */
  readonly candidates: readonly { tile: Tile; peakBytes: number; estTimeSec: number; fits: boolean }[];
}

interface Geometry {
  readonly latent: readonly [number, number, number];
  readonly ft: number; // frames per latent frame after the first
  readonly fh: number; // pixels per latent row
  readonly fw: number;
}

export type LoadAt = (dims: Record<string, number>) => Graph | undefined;

/** Reads the pixel-to-latent factors off the graph; undefined when the spec is not a video decoder. */
function geometry(g: Graph): Geometry | string {
  const { frames, height, width } = g.dims;
  if (frames === undefined || height === undefined || width === undefined) return 'needs dims frames, height and width';
  const x = g.inputs.map((i) => g.tensors[i]).find((t) => t.shape.length === 5);
  if (!x) return 'needs a 5-D video input [batch, channels, frames, height, width]';
  const [, , T, H, W] = x.shape;
  const ft = T > 1 ? (frames - 1) / (T - 1) : 1;
  const [fh, fw] = [height / H, width / W];
  if (![ft, fh, fw].every((f) => Number.isInteger(f) && f >= 1)) return `cannot relate dims ${frames}x${height}x${width} to the input's ${T}x${H}x${W}`;
  return { latent: [T, H, W], ft, fh, fw };
}

/** Tile lengths along one axis of n positions, with how many tiles have each length. */
function axisTiles(n: number, t: number, stride: number): Map<number, number> {
  const out = new Map<number, number>();
  if (n <= t) return out.set(n, 1);
  for (let k = 0; k * stride < n; k++) {
    const len = Math.min(t, n - k * stride);
    out.set(len, (out.get(len) ?? 0) + 1);
  }
  return out;
}

function dimsOf(geo: Geometry, [t, h, w]: readonly number[]): Record<string, number> {
  return { frames: geo.ft * (t - 1) + 1, height: geo.fh * h, width: geo.fw * w };
}

export function planTiled(base: Graph, loadAt: LoadAt, hw: HardwareProfile, par: Parallel, offload: boolean,
  request: Tile | 'auto', overlap = 0.25, budgetBytes = Infinity): TiledPlan | { error: string } {
  const geo = geometry(base);
  if (typeof geo === 'string') return { error: `--tile ${geo}` };
  if (!(overlap >= 0 && overlap < 1)) return { error: `--tile-overlap must be in [0, 1), got ${overlap}` };
  const [T, H, W] = geo.latent;
  const toLatent = (tile: Tile): [number, number, number] =>
    [Math.min(T, (tile.frames - 1) / geo.ft + 1), Math.min(H, tile.height / geo.fh), Math.min(W, tile.width / geo.fw)];
  const planAt = (lat: readonly number[]): InferencePlan | undefined => {
    const g = loadAt(dimsOf(geo, lat));
    const p = g && planInference(g, hw, par, offload);
    return p && !('error' in p) ? p : undefined;
  };
  const untiled = planAt(geo.latent);
  if (!untiled) return { error: `--tile: the spec does not plan at its own size` };
  const strides = (lat: readonly number[]): number[] =>
    [Math.max(1, Math.floor((lat[0] - 1) * (1 - overlap))), Math.max(1, Math.floor(lat[1] * (1 - overlap))), Math.max(1, Math.floor(lat[2] * (1 - overlap)))];
  const gridOf = (lat: readonly number[]): Map<number, number>[] => {
    const s = strides(lat);
    return [axisTiles(T, lat[0], s[0]), axisTiles(H, lat[1], s[1]), axisTiles(W, lat[2], s[2])];
  };
  const countOf = (m: Map<number, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

  // Candidate tiles, largest first: the request, or (auto) halvings of the latent down to 1/8.
  const requested = request === 'auto' ? undefined : toLatent(request);
  if (requested && !requested.every((v) => Number.isInteger(v) && v >= 1))
    return { error: `--tile ${request === 'auto' ? '' : `${request.frames}x${request.height}x${request.width}`} is not a whole number of latent positions (frames ${geo.ft}n+1, height and width multiples of ${geo.fh})` };
  const lats: [number, number, number][] = requested ? [requested] : [];
  if (!requested)
    for (const t of [T, 33, 17, 9]) for (const s of [1, 2, 4, 8]) {
      const lat: [number, number, number] = [Math.min(T, t), Math.max(1, Math.ceil(H / s)), Math.max(1, Math.ceil(W / s))];
      if (!lats.some((l) => l.join() === lat.join())) lats.push(lat);
    }
  const candidates: { tile: Tile; lat: number[]; plan?: InferencePlan; estTimeSec: number }[] = [];
  for (const lat of lats) {
    const p = planAt(lat);
    // Estimate: every tile costs the full tile's time scaled by its share of latent positions.
    const grid = gridOf(lat);
    const volume = (m: Map<number, number>): number => [...m].reduce((s, [len, c]) => s + len * c, 0);
    const scale = (volume(grid[0]) * volume(grid[1]) * volume(grid[2])) / (lat[0] * lat[1] * lat[2]);
    const d = dimsOf(geo, lat);
    candidates.push({ tile: { frames: d.frames, height: d.height, width: d.width }, lat, plan: p, estTimeSec: p ? p.stepTimeSec * scale : Infinity });
  }
  // A tile fits when its plan fits the GPU and its peak stays within the budget (e.g. the memory
  // left beside a resident DiT).
  const fitsBudget = (p?: InferencePlan): boolean => !!p && p.fits && p.peakBytes <= budgetBytes;
  const fitting = candidates.filter((c) => fitsBudget(c.plan));
  const chosen = (request === 'auto' ? fitting.sort((a, b) => a.estTimeSec - b.estTimeSec)[0] : undefined) ?? candidates[0];
  if (!chosen.plan) return { error: `--tile ${chosen.tile.frames}x${chosen.tile.height}x${chosen.tile.width} does not elaborate (check the spec's divisibility rules)` };

  // Exact totals for the chosen tile: one plan per distinct tile shape.
  const grid = gridOf(chosen.lat);
  let totalTimeSec = 0;
  let flopsTiled = 0;
  for (const [lt, ct] of grid[0]) for (const [lh, ch] of grid[1]) for (const [lw, cw] of grid[2]) {
    const p = [lt, lh, lw].join() === chosen.lat.join() ? chosen.plan : planAt([lt, lh, lw]);
    if (!p) return { error: `--tile: an edge tile of ${lt}x${lh}x${lw} latent positions does not elaborate or plan (the spec rejects that size; try another tile)` };
    totalTimeSec += ct * ch * cw * p.stepTimeSec;
    flopsTiled += ct * ch * cw * p.modelFlops;
  }
  const g3 = grid.map(countOf) as [number, number, number];
  return {
    tile: chosen.tile, overlap, latentTile: chosen.lat as [number, number, number], grid: g3, tiles: g3[0] * g3[1] * g3[2],
    // The tile's plan fits only within the budget too, so its `fits` line and key agree with the exit code.
    plan: { ...chosen.plan, fits: fitsBudget(chosen.plan) }, totalTimeSec, flopsTiled, flopsUntiled: untiled.modelFlops, fits: fitsBudget(chosen.plan),
    candidates: request === 'auto' ? candidates.map((c) => ({ tile: c.tile, peakBytes: c.plan?.peakBytes ?? NaN, estTimeSec: c.estTimeSec, fits: fitsBudget(c.plan) })) : [],
  };
}

/** "65x256x256" -> frames, height, width. */
export function parseTile(s: string): Tile | 'auto' | undefined {
  if (s === 'auto') return 'auto';
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(s);
  return m ? { frames: Number(m[1]), height: Number(m[2]), width: Number(m[3]) } : undefined;
}

export function tilingText(t: TiledPlan): string {
  const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;
  const lines = [
    `tiling       ${t.tile.frames} frames x ${t.tile.height} x ${t.tile.width} px per tile (${t.latentTile.join('x')} latent), ${Math.round(t.overlap * 100)}% overlap: ${t.grid.join(' x ')} = ${t.tiles} tiles`,
    `             peak ${gib(t.plan.peakBytes)} (one tile; the plan above); all tiles ${t.totalTimeSec.toFixed(1)} s; FLOPs ${(t.flopsTiled / 1e15).toFixed(2)} PF tiled vs ${(t.flopsUntiled / 1e15).toFixed(2)} PF untiled`,
  ];
  for (const c of t.candidates)
    lines.push(`  candidate  ${c.tile.frames}x${c.tile.height}x${c.tile.width}: peak ${gib(c.peakBytes)}, ~${c.estTimeSec.toFixed(1)} s${c.fits ? '' : ' (does not fit)'}`);
  return lines.join('\n') + '\n';
}
