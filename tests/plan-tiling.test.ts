// Tiled VAE decode planning: the reference's tile grid (hunyuanvideo.md §2.5: 3 x 4 x 7 = 84 tiles at
// 720p, 45 at 544x960), FLOPs growing with the overlap, and tile sizes chosen to fit a budget.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { loadProfile } from '../src/hw/profile.js';
import { HUNYUAN_TILE, planTiled } from '../src/plan/tiling.js';
import { frontEnd, load } from './helpers.js';

const SPEC = 'examples/hunyuan-video/vae.mc';
const par = { tp: 1, sp: false, ulysses: 1, cp: 1, dp: 1, zero: 0 } as const;
const h100 = loadProfile('h100-sxm');
const loadAt = (base: Record<string, number>) => (dims: Record<string, number>) =>
  frontEnd(SPEC, { model: 'decoder', set: { ...base, ...dims } }).graph;

describe('tiled VAE decode', () => {
  it('lays the reference grid over a 720x1280x129 decode: 84 tiles, ~4.2 PF', () => {
    const g = load(SPEC, { model: 'decoder' });
    const t = planTiled(g, loadAt({}), h100, par, false, HUNYUAN_TILE);
    if ('error' in t) throw new Error(t.error);
    expect(t.latentTile).toEqual([17, 32, 32]);
    expect(t.grid).toEqual([3, 4, 7]);
    expect(t.tiles).toBe(84);
    expect(t.fits).toBe(true);
    // The reference's count: 84 calls of at most 73 TF each, ~4.24 PF (dense mid attention); ours
    // counts the frame-causal mask, so a little less.
    expect(t.flopsTiled / 1e15).toBeGreaterThan(4.0);
    expect(t.flopsTiled / 1e15).toBeLessThan(4.3);
    expect(t.flopsTiled).toBeGreaterThan(1.5 * t.flopsUntiled);
  });

  it('gives 3 x 3 x 5 = 45 tiles at 544x960x129', () => {
    const set = { height: 544, width: 960 };
    const t = planTiled(load(SPEC, { model: 'decoder', set }), loadAt(set), h100, par, false, HUNYUAN_TILE);
    if ('error' in t) throw new Error(t.error);
    expect(t.tiles).toBe(45);
  });

  it('chooses the fastest tile whose peak fits the budget', () => {
    const g = load(SPEC, { model: 'decoder' });
    const t = planTiled(g, loadAt({}), h100, par, false, 'auto', 0.25, 8 * 2 ** 30);
    if ('error' in t) throw new Error(t.error);
    expect(t.fits).toBe(true);
    expect(t.plan.peakBytes).toBeLessThanOrEqual(8 * 2 ** 30);
    const same = (a: typeof t.tile): boolean => a.frames === t.tile.frames && a.height === t.tile.height && a.width === t.tile.width;
    const chosen = t.candidates.find((c) => same(c.tile))!;
    expect(t.candidates.filter((c) => c.fits && c.estTimeSec < chosen.estTimeSec)).toEqual([]);
    expect(t.candidates[0].fits).toBe(false); // the untiled decode needs ~170 GiB
  });

  it('rejects a tile that is not whole latent positions, with one line', () => {
    const r = spawnSync(process.execPath, ['dist/cli.js', 'plan', SPEC, '--model', 'decoder', '--mode', 'infer', '--hw', 'h100-sxm', '--gpus', '1', '--tile', '64x256x256'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('mc plan: error: --tile 64x256x256 is not a whole number of latent positions (frames 4n+1, height and width multiples of 8)');
  });
});
