// Shared types of the static memory allocator (issue 4).
// Every solver takes a Problem and returns a Solution; nothing here mutates its inputs.

/** One buffer: `size` bytes live over the half-open schedule interval [start, end). */
export interface Buffer {
  readonly id: string;
  readonly size: number;
  readonly start: number;
  /** Exclusive: a buffer ending at t and one starting at t may share bytes. */
  readonly end: number;
  /** The offset must be a multiple of this (default 1). */
  readonly align?: number;
  /** A pinned buffer: solvers must place it exactly here. */
  readonly fixedOffset?: number;
}

export interface Problem {
  readonly buffers: ReadonlyArray<Buffer>;
  /** Arena size; solvers try to stay within it. Absent: minimise the peak only. */
  readonly capacity?: number;
}

export type SolverName = 'greedy' | 'mip' | 'glpk' | 'highs' | 'search' | 'auto';

export interface Solution {
  /** Offset of every buffer, by id. */
  readonly offsets: ReadonlyMap<string, number>;
  /** max(offset + size): the arena bytes this layout needs. */
  readonly peak: number;
  /** Max total live bytes at any instant; no layout can beat it. */
  readonly lowerBound: number;
  /** Which solver produced the returned layout (e.g. 'search', 'greedy'). */
  readonly solver: string;
  readonly seconds: number;
  /** True when peak is proven minimal (peak == lowerBound, or a solver proved it). */
  readonly optimal: boolean;
  /** peak / lowerBound - 1 (0 when optimal at the bound). */
  readonly gap: number;
  /** True when a capacity was given and peak <= capacity. */
  readonly withinCapacity: boolean;
  /** Solver notes for reports (e.g. 'search timed out at cap 986112'). */
  readonly notes: ReadonlyArray<string>;
}

export interface AllocOptions {
  readonly solver?: SolverName;
  /** Wall-clock budget for the whole call, seconds (default 10). */
  readonly timeLimitS?: number;
  /**
   * With a capacity: stop as soon as the layout fits (minimalloc's feasibility mode; default true).
   * false: keep tightening the peak towards the lower bound until the time limit.
   */
  readonly stopAtCapacity?: boolean;
  /** Stop once the peak is within this fraction of the lower bound (e.g. 0.002): good enough. */
  readonly goalGap?: number;
  /** Called now and then during long solves with the fraction of the time limit used (progress bars). */
  readonly onProgress?: (fractionOfLimit: number) => void;
}

/** Offsets as a plain array in the order of problem.buffers (solvers' internal form). */
export type OffsetArray = ReadonlyArray<number>;

export function alignOf(b: Buffer): number {
  return b.align && b.align > 1 ? b.align : 1;
}

export function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

export function lcm(a: number, b: number): number {
  return (a / gcd(a, b)) * b;
}

/** The gcd of every size, alignment and pinned offset: canonical offsets and peaks are its multiples. */
export function offsetGrain(buffers: ReadonlyArray<Buffer>): number {
  let g = 0;
  for (const b of buffers) {
    if (b.size > 0) g = gcd(g, b.size);
    if (alignOf(b) > 1) g = gcd(g, alignOf(b));
    if (b.fixedOffset) g = gcd(g, b.fixedOffset);
  }
  return Math.max(1, g);
}

export function alignUp(x: number, a: number): number {
  if (a <= 1) return x;
  const r = x % a;
  return r === 0 ? x : x + (a - r);
}

/** Two buffers conflict when both have bytes and their half-open lifetimes intersect. */
export function conflicts(a: Buffer, b: Buffer): boolean {
  return a.size > 0 && b.size > 0 && a.start < b.end && b.start < a.end && a.start < a.end && b.start < b.end;
}

export function peakOf(buffers: ReadonlyArray<Buffer>, offsets: OffsetArray): number {
  let peak = 0;
  for (let i = 0; i < buffers.length; i++) {
    if (buffers[i].size > 0) peak = Math.max(peak, offsets[i] + buffers[i].size);
  }
  return peak;
}
