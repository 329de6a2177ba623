// Conflict lists: for each buffer, the buffers whose lifetimes intersect it (both with bytes).
// Built by a sweep so the cost is O(n log n + pairs) rather than O(n^2).
import type { Buffer } from './types.js';

export function conflictLists(buffers: ReadonlyArray<Buffer>): number[][] {
  const n = buffers.length;
  const lists: number[][] = Array.from({ length: n }, () => []);
  const order: number[] = [];
  for (let i = 0; i < n; i++) if (buffers[i].size > 0 && buffers[i].start < buffers[i].end) order.push(i);
  order.sort((x, y) => buffers[x].start - buffers[y].start);
  let active: number[] = [];
  for (const i of order) {
    const s = buffers[i].start;
    active = active.filter((j) => buffers[j].end > s);
    for (const j of active) {
      lists[i].push(j);
      lists[j].push(i);
    }
    active.push(i);
  }
  return lists;
}

export function countPairs(lists: ReadonlyArray<ReadonlyArray<number>>): number {
  let t = 0;
  for (const l of lists) t += l.length;
  return t / 2;
}
