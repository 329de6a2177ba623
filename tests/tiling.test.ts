// The launcher's tiled VAE decode (src/launcher/runtime-tiling.ts) against the reference's geometry
// (../shared/reference/hunyuanvideo.md §2.5) and blend rule, with fake decoders whose output is known.
import { describe, expect, test } from '@jest/globals';
import { HUNYUAN_TILING, type Tiling, type Vol, tileCount, tileGrid, tileShapes, tiledDecode, vol } from '../src/launcher/runtime-tiling.js';

describe('geometry at HunyuanVideo sizes', () => {
  test('720x1280x129: windows [0,17) [12,29) [24,33), 4 x 7 tiles each, 84 calls, 8 tile shapes', () => {
    const g = tileGrid(33, 90, 160, HUNYUAN_TILING);
    expect(g.windows).toEqual([[0, 17], [12, 29], [24, 33]]);
    expect(g.rows).toEqual([[0, 32], [24, 56], [48, 80], [72, 90]]);
    expect(g.cols.map(([a]) => a)).toEqual([0, 24, 48, 72, 96, 120, 144]);
    expect(g.cols.at(-1)).toEqual([144, 160]);
    expect(tileCount(33, 90, 160, HUNYUAN_TILING)).toBe(84);
    expect(tileShapes(33, 90, 160, HUNYUAN_TILING)).toEqual([
      [17, 32, 32], [17, 18, 32], [9, 32, 32], [17, 32, 16], [9, 18, 32], [17, 18, 16], [9, 32, 16], [9, 18, 16]]); // largest first
  });
  test('544x960x129: 3 x 3 x 5 = 45 calls', () => {
    expect(tileCount(33, 68, 120, HUNYUAN_TILING)).toBe(45);
  });
  test('no tiling below the tile size: one call on the whole latent', () => {
    expect(tileGrid(9, 30, 32, HUNYUAN_TILING)).toEqual({ windows: [[0, 9]], rows: [[0, 30]], cols: [[0, 32]] });
  });
});

// A small tiling with every case: 3 temporal windows (the last short), 4 x 3 spatial tiles (short ones last).
const TL: Tiling = { frames: 4, framesStride: 3, size: 4, sizeStride: 3 };
const T = 9, H = 10, W = 7;

/** Nearest "decoder": [c, 1 + 4 (f - 1), 8h, 8w], frame p shows latent frame 0 (p = 0) or 1 + (p - 1) / 4. */
async function nearest(lat: Vol): Promise<Vol> {
  const o = vol(lat.c, 1 + 4 * (lat.f - 1), 8 * lat.h, 8 * lat.w);
  for (let c = 0; c < o.c; c++) for (let p = 0; p < o.f; p++) for (let y = 0; y < o.h; y++) for (let x = 0; x < o.w; x++) {
    const t = p === 0 ? 0 : 1 + Math.floor((p - 1) / 4);
    o.d[((c * o.f + p) * o.h + y) * o.w + x] = lat.d[((c * lat.f + t) * lat.h + (y >> 3)) * lat.w + (x >> 3)];
  }
  return o;
}

/** The latent carries its own coordinates: channel 0 = frame, 1 = row, 2 = column. */
function coords(): Vol {
  const z = vol(3, T, H, W);
  for (let t = 0; t < T; t++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    z.d[(0 * T + t) * H * W + y * W + x] = t;
    z.d[(1 * T + t) * H * W + y * W + x] = y;
    z.d[(2 * T + t) * H * W + y * W + x] = x;
  }
  return z;
}

describe('tiledDecode', () => {
  test('every video pixel comes from the right latent position (tiles placed, cropped and dropped as the reference)', async () => {
    const { video, calls } = await tiledDecode(coords(), TL, nearest);
    expect(calls).toBe(3 * 4 * 3);
    expect([video.c, video.f, video.h, video.w]).toEqual([3, 1 + 4 * (T - 1), 8 * H, 8 * W]);
    let worst = 0;
    for (let p = 0; p < video.f; p++) for (let y = 0; y < video.h; y++) for (let x = 0; x < video.w; x++) {
      const want = [p === 0 ? 0 : 1 + Math.floor((p - 1) / 4), y >> 3, x >> 3];
      for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(video.d[((c * video.f + p) * video.h + y) * video.w + x] - want[c]));
    }
    expect(worst).toBeLessThan(1e-5); // blends of equal values, rounded to fp32
  });

  test('overlaps blend linearly: row 1 of tiles fades in over 8 x (size - stride) pixels', async () => {
    // Each tile decodes to a constant: 100 x its first latent row + its first latent column.
    const flat = async (lat: Vol): Promise<Vol> => {
      const o = vol(1, 1 + 4 * (lat.f - 1), 8 * lat.h, 8 * lat.w);
      o.d.fill(100 * lat.d[lat.f * lat.h * lat.w] + lat.d[2 * lat.f * lat.h * lat.w]);
      return o;
    };
    const { video } = await tiledDecode(coords(), { ...TL, frames: 16 }, flat);
    const ext = 8 * (TL.size - TL.sizeStride); // 8 pixels
    const keep = 8 * TL.sizeStride; // 24 pixels
    const at = (y: number, x: number): number => video.d[y * video.w + x]; // frame 0, channel 0
    expect(at(keep - 1, 0)).toBe(0); // tile (0, 0) alone
    for (let yy = 0; yy < ext; yy++) expect(at(keep + yy, 0)).toBeCloseTo(0 * (1 - yy / ext) + 300 * (yy / ext), 4); // tile (1, 0) starts at row 3
    expect(at(keep + ext, 0)).toBe(300);
    for (let xx = 0; xx < ext; xx++) expect(at(0, keep + xx)).toBeCloseTo(0 * (1 - xx / ext) + 3 * (xx / ext), 4); // tile (0, 1) starts at column 3
  });
});
