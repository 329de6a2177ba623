// Simulation of PyTorch's CUDA caching allocator (one stream, no memory limit, no empty_cache), to
// report what an eager run would reserve for the same request trace. Rules (c10/cuda/CUDACachingAllocator):
// - requests round up to 512 bytes; rounded sizes <= 1 MiB use the small pool, others the large pool;
// - a miss reserves a new segment: 2 MiB for small requests, 20 MiB for large requests under 10 MiB,
//   otherwise the request rounded up to 2 MiB;
// - best fit: the smallest free block of the pool that holds the request (ties: oldest segment, lowest
//   address); the rest is split off when >= 512 bytes (small) or > 1 MiB (large);
// - a freed block merges with free neighbours of its own segment only; segments are never returned.
import type { Buffer } from './types.js';

export type TraceEvent =
  | { readonly kind: 'alloc'; readonly id: string; readonly size: number }
  | { readonly kind: 'free'; readonly id: string };

export interface CachingResult {
  /** Peak cudaMalloc'd bytes (memory_reserved); segments are never freed, so also the final value. */
  readonly reservedPeakBytes: number;
  /** Peak of the live blocks' sizes after rounding and unsplittable remainders (memory_allocated). */
  readonly allocatedPeakBytes: number;
  /** Peak of the requested sizes themselves. */
  readonly requestedPeakBytes: number;
  readonly segments: number;
}

const MiB = 1024 * 1024;
const MIN_BLOCK = 512;
const SMALL_SIZE = MiB;
const SMALL_BUFFER = 2 * MiB;
const LARGE_BUFFER = 20 * MiB;
const MIN_LARGE_ALLOC = 10 * MiB;
const ROUND_LARGE = 2 * MiB;

interface Block {
  seg: number;
  addr: number;
  size: number;
  free: boolean;
  small: boolean;
  prev: Block | null;
  next: Block | null;
}

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

export function roundRequest(size: number): number {
  return size < MIN_BLOCK ? MIN_BLOCK : roundUp(size, MIN_BLOCK);
}

export function segmentSize(rounded: number): number {
  if (rounded <= SMALL_SIZE) return SMALL_BUFFER;
  if (rounded < MIN_LARGE_ALLOC) return LARGE_BUFFER;
  return roundUp(rounded, ROUND_LARGE);
}

export function simulateCachingAllocator(trace: ReadonlyArray<TraceEvent>): CachingResult {
  const pools: { small: Block[]; large: Block[] } = { small: [], large: [] };
  const live = new Map<string, { block: Block; requested: number }>();
  let reserved = 0;
  let allocated = 0;
  let requested = 0;
  let allocatedPeak = 0;
  let requestedPeak = 0;
  let segments = 0;
  for (const ev of trace) {
    if (ev.kind === 'alloc') {
      if (live.has(ev.id)) throw new Error(`caching trace: '${ev.id}' allocated twice`);
      if (ev.size === 0) continue;
      const size = roundRequest(ev.size);
      const small = size <= SMALL_SIZE;
      const pool = small ? pools.small : pools.large;
      let block = bestFit(pool, size);
      if (block) {
        pool.splice(pool.indexOf(block), 1);
      } else {
        const seg = segmentSize(size);
        reserved += seg;
        block = { seg: segments++, addr: 0, size: seg, free: true, small, prev: null, next: null };
      }
      const rest = block.size - size;
      if (small ? rest >= MIN_BLOCK : rest > SMALL_SIZE) {
        const tail: Block = { seg: block.seg, addr: block.addr + size, size: rest, free: true, small, prev: block, next: block.next };
        if (block.next) block.next.prev = tail;
        block.next = tail;
        block.size = size;
        pool.push(tail);
      }
      block.free = false;
      live.set(ev.id, { block, requested: ev.size });
      allocated += block.size;
      requested += ev.size;
      allocatedPeak = Math.max(allocatedPeak, allocated);
      requestedPeak = Math.max(requestedPeak, requested);
    } else {
      const entry = live.get(ev.id);
      if (!entry) continue; // zero-size allocations are not tracked
      live.delete(ev.id);
      let b = entry.block;
      allocated -= b.size;
      requested -= entry.requested;
      const pool = b.small ? pools.small : pools.large;
      b.free = true;
      // Merge with free neighbours inside the segment (blocks of one segment form a linked list).
      for (const nb of [b.prev, b.next]) {
        if (!nb || !nb.free) continue;
        pool.splice(pool.indexOf(nb), 1);
        const lo = nb.addr < b.addr ? nb : b;
        const hi = lo === nb ? b : nb;
        lo.size += hi.size;
        lo.next = hi.next;
        if (hi.next) hi.next.prev = lo;
        b = lo;
      }
      pool.push(b);
    }
  }
  return { reservedPeakBytes: reserved, allocatedPeakBytes: allocatedPeak, requestedPeakBytes: requestedPeak, segments };
}

function bestFit(pool: ReadonlyArray<Block>, size: number): Block | undefined {
  let best: Block | undefined;
  for (const b of pool) {
    if (b.size < size) continue;
    if (!best || b.size < best.size || (b.size === best.size && (b.seg < best.seg || (b.seg === best.seg && b.addr < best.addr)))) best = b;
  }
  return best;
}

/** The request trace of a static plan: at each step frees come first (half-open lifetimes), then allocations in input order. */
export function traceFromBuffers(buffers: ReadonlyArray<Buffer>): TraceEvent[] {
  const ev: Array<[number, number, number, TraceEvent]> = [];
  buffers.forEach((b, i) => {
    if (b.start >= b.end) return;
    ev.push([b.start, 1, i, { kind: 'alloc', id: b.id, size: b.size }]);
    ev.push([b.end, 0, i, { kind: 'free', id: b.id }]);
  });
  ev.sort((x, y) => x[0] - y[0] || x[1] - y[1] || x[2] - y[2]);
  return ev.map((e) => e[3]);
}
