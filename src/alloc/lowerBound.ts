// The max-load lower bound: the largest total of live bytes at any instant (a sweep over events).
// No layout can have a smaller peak. Pinned buffers also bound it by their own top.
import { alignOf, alignUp, gcd, type Buffer } from './types.js';

export function lowerBound(buffers: ReadonlyArray<Buffer>): number {
  return sweep(buffers, 1);
}

/**
 * The same bound with alignment: when every offset is a multiple of A (the gcd of all alignments),
 * the buffers live at one instant are stacked with every one but the top reaching the next multiple
 * of A, so they need their sizes rounded up to A, less the largest such rounding. Plan traces align
 * every buffer to 512 B: there this proves layouts optimal that the plain bound misses by a few KiB.
 * Used to stop solvers, not reported (fragmentation stays relative to the plain bound).
 */
export function alignedLowerBound(buffers: ReadonlyArray<Buffer>): number {
  let a = 0;
  for (const b of buffers) if (b.size > 0) a = gcd(a, alignOf(b));
  return Math.max(lowerBound(buffers), a > 1 ? sweep(buffers, a) : 0);
}

function sweep(buffers: ReadonlyArray<Buffer>, a: number): number {
  const events: Array<[number, number]> = []; // [time, +-(index + 1)]
  let pinnedTop = 0;
  buffers.forEach((b, i) => {
    if (b.size <= 0 || b.start >= b.end) return;
    events.push([b.start, i + 1], [b.end, -(i + 1)]);
    if (b.fixedOffset !== undefined) pinnedTop = Math.max(pinnedTop, b.fixedOffset + b.size);
  });
  // Half-open lifetimes: at equal times, frees (negative) go before allocations.
  events.sort((x, y) => x[0] - y[0] || Math.sign(x[1]) - Math.sign(y[1]));
  const pad = (i: number) => alignUp(buffers[i].size, a) - buffers[i].size;
  const live = new Set<number>();
  let load = 0;
  let best = 0;
  for (const [, e] of events) {
    const i = Math.abs(e) - 1;
    if (a > 1 && e > 0) live.add(i);
    else if (a > 1) live.delete(i);
    load += Math.sign(e) * (buffers[i].size + pad(i));
    // Every state of the sweep is a subset of one instant's buffers, so each is a bound.
    if (load <= best) continue;
    let top = 0;
    for (const j of live) top = Math.max(top, pad(j));
    best = Math.max(best, load - top);
  }
  return Math.max(best, pinnedTop);
}
