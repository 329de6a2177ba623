// The max-load lower bound: the largest total of live bytes at any instant (a sweep over events).
// No layout can have a smaller peak. Pinned buffers also bound it by their own top.
import type { Buffer } from './types.js';

export function lowerBound(buffers: ReadonlyArray<Buffer>): number {
  const events: Array<[number, number]> = [];
  let pinnedTop = 0;
  for (const b of buffers) {
    if (b.size <= 0 || b.start >= b.end) continue;
    events.push([b.start, b.size], [b.end, -b.size]);
    if (b.fixedOffset !== undefined) pinnedTop = Math.max(pinnedTop, b.fixedOffset + b.size);
  }
  // Half-open lifetimes: at equal times, frees (negative) go before allocations.
  events.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let live = 0;
  let best = 0;
  for (const [, delta] of events) {
    live += delta;
    if (live > best) best = live;
  }
  return Math.max(best, pinnedTop);
}
