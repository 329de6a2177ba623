// Greedy baseline, the XLA approach: place buffers one at a time in a fixed order, each into the
// best-fitting free gap over its lifetime (or first-fit), try several orders, keep the lowest peak.
import { conflictLists } from './conflicts.js';
import { alignOf, alignUp, peakOf, type Buffer } from './types.js';

export interface GreedyResult {
  readonly offsets: number[];
  readonly peak: number;
  /** Which order/fit produced the kept layout, e.g. 'size/best'. */
  readonly variant: string;
}

type Key = (b: Buffer) => number[];

// Orders compared lexicographically, all descending except start. Ties fall back to the index.
const ORDERS: ReadonlyArray<[string, Key]> = [
  ['size', (b) => [-b.size, -(b.end - b.start)]],
  ['lifetime', (b) => [-(b.end - b.start), -b.size]],
  ['area', (b) => [-b.size * (b.end - b.start), -b.size]],
  ['start', (b) => [b.start, -b.size]],
];

export function greedy(buffers: ReadonlyArray<Buffer>): GreedyResult {
  const conf = conflictLists(buffers);
  let best: GreedyResult | undefined;
  for (const [name, key] of ORDERS) {
    const order = sortedOrder(buffers, key);
    for (const fit of ['best', 'first'] as const) {
      const offsets = placeAll(buffers, conf, order, fit);
      const peak = peakOf(buffers, offsets);
      if (!best || peak < best.peak) best = { offsets, peak, variant: `${name}/${fit}` };
    }
  }
  if (!best) return { offsets: [], peak: 0, variant: 'empty' };
  return best;
}

/** Places buffers in `order` (pinned ones first, where they must be); returns offsets by index. */
export function placeAll(
  buffers: ReadonlyArray<Buffer>,
  conf: ReadonlyArray<ReadonlyArray<number>>,
  order: ReadonlyArray<number>,
  fit: 'best' | 'first',
): number[] {
  const n = buffers.length;
  const offsets = new Array<number>(n).fill(0);
  const placed = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (buffers[i].fixedOffset !== undefined) {
      offsets[i] = buffers[i].fixedOffset as number;
      placed[i] = 1;
    }
  }
  for (const i of order) {
    if (placed[i]) continue;
    offsets[i] = buffers[i].size > 0 ? choose(buffers, i, conf[i], offsets, placed, fit) : 0;
    placed[i] = 1;
  }
  return offsets;
}

function choose(
  buffers: ReadonlyArray<Buffer>,
  i: number,
  neighbours: ReadonlyArray<number>,
  offsets: ReadonlyArray<number>,
  placed: Uint8Array,
  fit: 'best' | 'first',
): number {
  const b = buffers[i];
  const occ: Array<[number, number]> = [];
  for (const j of neighbours) if (placed[j]) occ.push([offsets[j], offsets[j] + buffers[j].size]);
  occ.sort((x, y) => x[0] - y[0]);
  const a = alignOf(b);
  let cur = 0;
  let bestOff = -1;
  let bestWaste = Infinity;
  for (const [lo, hi] of occ) {
    const o = alignUp(cur, a);
    if (o + b.size <= lo) {
      if (fit === 'first') return o;
      const waste = lo - cur - b.size;
      if (waste < bestWaste) {
        bestWaste = waste;
        bestOff = o;
      }
    }
    if (hi > cur) cur = hi;
  }
  // No interior gap fits (or first-fit reached the top): go above everything.
  return bestOff >= 0 ? bestOff : alignUp(cur, a);
}

export function sortedOrder(buffers: ReadonlyArray<Buffer>, key: Key): number[] {
  const keys = buffers.map(key);
  const idx = buffers.map((_, i) => i);
  idx.sort((x, y) => {
    const kx = keys[x];
    const ky = keys[y];
    for (let t = 0; t < kx.length; t++) if (kx[t] !== ky[t]) return kx[t] - ky[t];
    return x - y;
  });
  return idx;
}
