// Exact branch-and-bound for "does everything fit under capacity C?", in the spirit of minimalloc
// (Moffitt, ASPLOS'23): only canonical layouts are explored. Every buffer goes to the lowest offset
// its placed time-neighbours leave free (its "min offset"), and buffers are placed in non-decreasing
// offset order (ties by a static preorder), so each gravity-settled layout is reached once.
// Pruning: section inference (every section's floor plus its unplaced bytes must fit), dominance
// (never place a buffer at or above the top of the lowest slot some unplaced buffer already has),
// and dynamic decomposition (when no unplaced buffer crosses a section boundary, the two sides are
// solved independently). Static preorders are tried round-robin with a doubling node limit.
import { sweep, type SweepResult } from './sweep.js';

export interface Item {
  readonly size: number;
  readonly start: number;
  readonly end: number;
  readonly align: number;
}

export type FitStatus = 'found' | 'infeasible' | 'timeout';

export interface FitResult {
  readonly status: FitStatus;
  /** Offsets by item index (only when found). */
  readonly offsets?: Float64Array;
  readonly nodes: number;
}

const NOT_FOUND = 0;
const OK = 1;
const TIMEOUT = 2;
const ABORTED = 3;
type Code = 0 | 1 | 2 | 3;

// Preorders (minimalloc's defaults): W = lifetime width, A = area, T = largest section total.
const HEURISTICS = ['WAT', 'TAW', 'TWA'];

interface Part {
  readonly buffers: Int32Array;
  readonly lo: number;
  readonly hi: number;
}

/** Reusable solver for one set of items; `fit` may be called with different capacities. */
export class FitSearch {
  private readonly n: number;
  private readonly size: Float64Array;
  private readonly align: Float64Array;
  private readonly sw: SweepResult;
  private readonly overlaps: Int32Array[];
  /** Per item, pinned obstacles it must avoid, as sorted [lo, hi) pairs (or null). */
  private readonly obstacles: Array<Float64Array | null>;
  private readonly width: Float64Array;
  // Search state.
  private cap = 0;
  private deadline = 0;
  private tick?: () => void;
  private lastTick = 0;
  private nodes = 0;
  private nodesLeft = 0;
  private readonly off: Float64Array;
  private readonly sol: Float64Array;
  private readonly minOff: Float64Array;
  /** Scratch: effective offsets computed by the current node (read before it recurses). */
  private readonly eff: Float64Array;
  private readonly pre: Int32Array;
  private readonly floor: Float64Array;
  /** Lowest min offset among each section's unplaced buffers (Infinity when none). */
  private readonly secMin: Float64Array;
  private readonly total: Float64Array;
  private readonly cuts: Int32Array;
  private readonly stamp: Int32Array;
  private gen = 0;
  private heuristic = HEURISTICS[0];
  /** Set by place(): false when section inference already failed (the caller must still undo). */
  private placedOk = true;
  private affected: Int32Array;
  // Undo log: kind 0 restores minOff[idx], 1 floor[idx], 2 secMin[idx].
  private uKind = new Uint8Array(1 << 16);
  private uIdx = new Int32Array(1 << 16);
  private uVal = new Float64Array(1 << 16);
  private uTop = 0;

  constructor(items: ReadonlyArray<Item>, overlaps: ReadonlyArray<ReadonlyArray<number>>, obstacles?: ReadonlyArray<Float64Array | null>) {
    const n = (this.n = items.length);
    this.size = Float64Array.from(items, (b) => b.size);
    this.align = Float64Array.from(items, (b) => Math.max(1, b.align));
    this.width = Float64Array.from(items, (b) => b.end - b.start);
    this.sw = sweep(items);
    this.overlaps = overlaps.map((l) => Int32Array.from(l));
    this.obstacles = obstacles ? [...obstacles] : new Array(n).fill(null);
    const S = this.sw.sections.length;
    this.off = new Float64Array(n).fill(-1);
    this.sol = new Float64Array(n);
    this.minOff = new Float64Array(n);
    this.eff = new Float64Array(n);
    this.pre = new Int32Array(n);
    this.floor = new Float64Array(S);
    this.secMin = new Float64Array(S);
    this.total = new Float64Array(S);
    this.cuts = new Int32Array(this.sw.cuts.length);
    this.stamp = new Int32Array(S);
    this.affected = new Int32Array(S);
  }

  /** Searches for a layout with every top <= capacity until `deadline` (performance.now() ms). */
  fit(capacity: number, deadline: number, tick?: () => void): FitResult {
    this.cap = capacity;
    this.deadline = deadline;
    this.tick = tick;
    this.nodes = 0;
    this.reset();
    for (let i = 0; i < this.n; i++) if (this.size[i] > capacity) return { status: 'infeasible', nodes: 0 };
    for (let s = 0; s < this.total.length; s++) if (this.total[s] > capacity) return { status: 'infeasible', nodes: 0 };
    for (const part of this.sw.partitions) {
      let limit = Math.max(2, this.n);
      let code: Code = ABORTED;
      while (code === ABORTED) {
        limit *= 2;
        for (const h of HEURISTICS) {
          this.nodesLeft = limit;
          code = this.subSolve(part, h);
          if (code !== ABORTED) break;
        }
      }
      if (code === TIMEOUT) return { status: 'timeout', nodes: this.nodes };
      if (code === NOT_FOUND) return { status: 'infeasible', nodes: this.nodes };
    }
    return { status: 'found', offsets: Float64Array.from(this.sol), nodes: this.nodes };
  }

  private reset(): void {
    this.off.fill(-1);
    this.minOff.fill(0);
    this.floor.fill(0);
    this.secMin.fill(0);
    this.total.fill(0);
    this.uTop = 0;
    const { sections, cuts } = this.sw;
    for (let s = 0; s < sections.length; s++) for (const b of sections[s]) this.total[s] += this.size[b];
    this.cuts.set(cuts);
  }

  /** Orders a partition's buffers by a static preorder, then searches it from offset 0. */
  private subSolve(part: Part, heuristic: string): Code {
    const outer = this.heuristic;
    this.heuristic = heuristic;
    const bs = Array.from(part.buffers);
    const saved = bs.map((b) => this.pre[b]);
    const key = new Map<number, number[]>();
    for (const b of bs) {
      let t = 0;
      for (let s = this.sw.secLo[b]; s < this.sw.secHi[b]; s++) t = Math.max(t, this.total[s]);
      const w = this.width[b];
      const a = w * this.size[b];
      key.set(b, [...heuristic].map((c) => (c === 'W' ? w : c === 'A' ? a : t)));
    }
    bs.sort((x, y) => {
      const kx = key.get(x) as number[];
      const ky = key.get(y) as number[];
      for (let i = 0; i < kx.length; i++) if (kx[i] !== ky[i]) return ky[i] - kx[i];
      return x - y;
    });
    bs.forEach((b, i) => (this.pre[b] = i));
    const code = this.search(part, 0, -1);
    bs.forEach((b, i) => (this.pre[b] = saved[i]));
    this.heuristic = outer;
    return code;
  }

  private effOffset(b: number): number {
    let o = this.minOff[b];
    const obs = this.obstacles[b];
    if (obs !== null) {
      const sz = this.size[b];
      const a = this.align[b];
      for (let k = 0; k < obs.length; k += 2) {
        if (o < obs[k + 1] && obs[k] < o + sz) o = alignUp(obs[k + 1], a);
      }
    }
    return o;
  }

  private search(part: Part, floorOff: number, lastPre: number): Code {
    if (--this.nodesLeft < 0) return ABORTED;
    if ((++this.nodes & 255) === 0) {
      const now = performance.now();
      if (now > this.deadline) return TIMEOUT;
      // Progress for a long solve (a TTY bar), at most ten times a second.
      if (this.tick && now - this.lastTick > 100) {
        this.lastTick = now;
        this.tick();
      }
    }
    const { off, size, pre } = this;
    // Pass 1: every unplaced buffer's lowest free offset, and the lowest top among them.
    const eff = this.eff;
    let minHeight = Infinity;
    let any = false;
    for (const b of part.buffers) {
      if (off[b] >= 0) continue;
      any = true;
      const o = (eff[b] = this.effOffset(b));
      if (o + size[b] < minHeight) minHeight = o + size[b];
    }
    if (!any) return OK;
    // Every unplaced buffer of a section goes at or above the chosen offset o (monotone floor), so
    // o + (unplaced bytes of any section) <= cap; this one bound covers all untouched sections.
    let maxTotal = 0;
    for (let s = part.lo; s < part.hi; s++) if (this.total[s] > maxTotal) maxTotal = this.total[s];
    const oMax = this.cap - maxTotal;
    // Pass 2: candidates are canonical (o >= floor, ties by preorder) and not dominated
    // (o < minHeight: else some unplaced buffer fits entirely below o, where nothing later can go).
    const cand: number[] = [];
    const candOff: number[] = [];
    for (const b of part.buffers) {
      if (off[b] >= 0) continue;
      const o = eff[b];
      if (o >= minHeight || o > oMax || o < floorOff || (o === floorOff && pre[b] < lastPre)) continue;
      cand.push(b);
      candOff.push(o);
    }
    const order = cand.map((_, i) => i);
    order.sort((x, y) => candOff[x] - candOff[y] || pre[cand[x]] - pre[cand[y]]);
    for (const k of order) {
      const b = cand[k];
      const o = candOff[k];
      const mark = this.place(b, o);
      let code: Code = NOT_FOUND;
      if (this.placedOk) {
        // Recurse directly when nothing splits: one stack frame per placed buffer keeps deep
        // instances within the JS stack.
        const points = this.cut(b);
        code = points.length === 0 ? this.search(part, o, pre[b]) : this.solveSplit(part, points);
        this.uncut(b);
      }
      this.undo(mark, b);
      if (code !== NOT_FOUND) return code;
    }
    return NOT_FOUND;
  }

  /** Drops b from the cut counts; returns the section boundaries no unplaced buffer crosses now. */
  private cut(b: number): number[] {
    const { secLo, secHi } = this.sw;
    const cuts = this.cuts;
    const points: number[] = [];
    for (let s = secLo[b]; s + 1 < secHi[b]; s++) if (--cuts[s] === 0) points.push(s + 1);
    return points;
  }

  private uncut(b: number): void {
    const { secLo, secHi } = this.sw;
    for (let s = secLo[b]; s + 1 < secHi[b]; s++) this.cuts[s]++;
  }

  /** Dynamic decomposition: the pieces between cut points share no unplaced buffer; solve each. */
  private solveSplit(part: Part, points: number[]): Code {
    const { secLo, secHi } = this.sw;
    let code: Code = OK;
    const bounds = [part.lo, ...points, part.hi];
    for (let c = 1; c < bounds.length && code === OK; c++) {
      const lo = bounds[c - 1];
      const hi = bounds[c];
      const sub: number[] = [];
      for (const x of part.buffers) if (this.off[x] < 0 && secHi[x] > lo && secLo[x] < hi) sub.push(x);
      if (sub.length > 0) code = this.subSolve({ buffers: Int32Array.from(sub), lo, hi }, this.heuristic);
    }
    return code;
  }

  /**
   * Places b at o and propagates: neighbours' min offsets, section floors (to b's top, or to the
   * lowest min offset of their unplaced buffers) and unplaced totals. Every change is logged.
   */
  private place(b: number, o: number): number {
    const mark = this.uTop;
    const { off, minOff, size, align, floor, total, stamp, affected, secMin } = this;
    const { secLo, secHi, sections } = this.sw;
    off[b] = o;
    this.sol[b] = o;
    const top = o + size[b];
    const gen = ++this.gen;
    let na = 0;
    // Raise the min offsets of unplaced neighbours; a section's minimum can only move if the
    // raised buffer held it (secMin is kept exact, so others are skipped).
    for (const j of this.overlaps[b]) {
      const old = minOff[j];
      if (off[j] >= 0 || old >= top) continue;
      this.log(0, j, old);
      minOff[j] = alignUp(top, align[j]);
      for (let s = secLo[j]; s < secHi[j]; s++) {
        if (stamp[s] !== gen && old <= secMin[s]) {
          stamp[s] = gen;
          affected[na++] = s;
        }
      }
    }
    for (let s = secLo[b]; s < secHi[b]; s++) {
      if (stamp[s] !== gen && minOff[b] <= secMin[s]) {
        stamp[s] = gen;
        affected[na++] = s;
      }
      this.log(1, s, floor[s]);
      floor[s] = top;
      total[s] -= size[b];
    }
    // A section's floor is at least the lowest min offset of its unplaced buffers.
    for (let k = 0; k < na; k++) {
      const s = affected[k];
      let m = Infinity;
      for (const x of sections[s]) if (off[x] < 0 && minOff[x] < m) m = minOff[x];
      if (m !== secMin[s]) {
        this.log(2, s, secMin[s]);
        secMin[s] = m;
      }
      if (m !== Infinity && floor[s] < m) {
        this.log(1, s, floor[s]);
        floor[s] = m;
        // Section inference on the raised floor; untouched sections are covered by oMax.
        if (m + total[s] > this.cap) {
          this.placedOk = false;
          return mark;
        }
      }
    }
    this.placedOk = true;
    return mark;
  }

  private undo(mark: number, b: number): void {
    const { uKind, uIdx, uVal } = this;
    while (this.uTop > mark) {
      const t = --this.uTop;
      const k = uKind[t];
      if (k === 0) this.minOff[uIdx[t]] = uVal[t];
      else if (k === 1) this.floor[uIdx[t]] = uVal[t];
      else this.secMin[uIdx[t]] = uVal[t];
    }
    const { secLo, secHi } = this.sw;
    for (let s = secLo[b]; s < secHi[b]; s++) this.total[s] += this.size[b];
    this.off[b] = -1;
  }

  private log(kind: number, idx: number, val: number): void {
    if (this.uTop === this.uKind.length) {
      const grow = <T extends Uint8Array | Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
        const g = make(a.length * 2);
        g.set(a as never);
        return g;
      };
      this.uKind = grow(this.uKind, (m) => new Uint8Array(m));
      this.uIdx = grow(this.uIdx, (m) => new Int32Array(m));
      this.uVal = grow(this.uVal, (m) => new Float64Array(m));
    }
    this.uKind[this.uTop] = kind;
    this.uIdx[this.uTop] = idx;
    this.uVal[this.uTop++] = val;
  }
}

function alignUp(x: number, a: number): number {
  if (a <= 1) return x;
  const r = x % a;
  return r === 0 ? x : x + (a - r);
}
