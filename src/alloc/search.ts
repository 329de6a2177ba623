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

// Frames of the explicit search stack (see subSolve).
const SEARCH = 0;
const SPLIT = 1;
const SUB = 2;
/** A search node: candidates (placement offsets) in order, the next to try, the one placed now. */
interface SearchFrame { readonly t: typeof SEARCH; readonly part: Part; readonly cand: number[]; readonly candOff: number[]; k: number; b: number; mark: number }
/** Independent pieces of a partition after a cut, solved one after another (c: the next piece). */
interface SplitFrame { readonly t: typeof SPLIT; readonly part: Part; readonly bounds: number[]; c: number }
/** A partition's search under its own preorder; the outer preorder is restored on return. */
interface SubFrame { readonly t: typeof SUB; readonly bs: number[]; readonly saved: number[]; readonly outer: string }
type Frame = SearchFrame | SplitFrame | SubFrame;

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

  /**
   * Orders a partition's buffers by a static preorder, then searches it from offset 0. The search
   * is depth-first with backtracking, one level per placed buffer; it runs on an explicit stack of
   * frames (not JS recursion) because real programs have thousands of buffers: the 13B DiT has
   * 2,587, deeper than V8's stack allows before the code is optimized.
   */
  private subSolve(part: Part, heuristic: string): Code {
    const stack: Frame[] = [];
    let ret: Code | undefined = this.enterSub(stack, part, heuristic);
    while (stack.length > 0) {
      const f = stack[stack.length - 1];
      if (f.t === SUB) {
        // The partition's search returned: restore the outer preorder.
        f.bs.forEach((b, i) => (this.pre[b] = f.saved[i]));
        this.heuristic = f.outer;
        stack.pop();
        continue; // ret passes through
      }
      if (f.t === SPLIT) {
        // A piece returned (or the split starts): go on with the next piece while they succeed.
        if (ret !== undefined && ret !== OK) { stack.pop(); continue; }
        ret = undefined;
        while (f.c < f.bounds.length) {
          const lo = f.bounds[f.c - 1];
          const hi = f.bounds[f.c++];
          const sub: number[] = [];
          for (const x of f.part.buffers) if (this.off[x] < 0 && this.sw.secHi[x] > lo && this.sw.secLo[x] < hi) sub.push(x);
          if (sub.length === 0) continue;
          const code = this.enterSub(stack, { buffers: Int32Array.from(sub), lo, hi }, this.heuristic);
          if (code === undefined) break; // the piece's search runs next
          if (code !== OK) { ret = code; break; }
        }
        if (stack[stack.length - 1] !== f) continue;
        stack.pop();
        ret = ret ?? OK;
        continue;
      }
      // A search node: a child (the next level) returned, or the node starts its candidate loop.
      if (f.b >= 0) {
        this.uncut(f.b);
        this.undo(f.mark, f.b);
        f.b = -1;
        if (ret !== NOT_FOUND) { stack.pop(); continue; }
      }
      ret = undefined;
      while (ret === undefined && f.k < f.cand.length) {
        const b = f.cand[f.k];
        const o = f.candOff[f.k++];
        const mark = this.place(b, o);
        if (!this.placedOk) { this.undo(mark, b); continue; }
        f.b = b;
        f.mark = mark;
        // Dynamic decomposition when placing b leaves section boundaries no unplaced buffer crosses.
        const points = this.cut(b);
        ret = points.length === 0 ? this.enterSearch(stack, f.part, o, this.pre[b]) : this.enterSplit(stack, f.part, points);
        if (ret === undefined) break; // the child frame runs next
        this.uncut(b);
        this.undo(mark, b);
        f.b = -1;
        if (ret === NOT_FOUND) ret = undefined;
      }
      if (stack[stack.length - 1] !== f) continue;
      stack.pop();
      ret = ret ?? NOT_FOUND;
    }
    return ret!;
  }

  /** Sets the partition's preorder and starts its search; returns a code when it ends at once. */
  private enterSub(stack: Frame[], part: Part, heuristic: string): Code | undefined {
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
    const frame: SubFrame = { t: SUB, bs, saved, outer: this.heuristic };
    this.heuristic = heuristic;
    stack.push(frame);
    const code = this.enterSearch(stack, part, 0, -1);
    if (code === undefined) return undefined;
    bs.forEach((b, i) => (this.pre[b] = saved[i]));
    this.heuristic = frame.outer;
    stack.pop();
    return code;
  }

  /** Dynamic decomposition: the pieces between cut points share no unplaced buffer; each is solved alone. */
  private enterSplit(stack: Frame[], part: Part, points: number[]): Code | undefined {
    stack.push({ t: SPLIT, part, bounds: [part.lo, ...points, part.hi], c: 1 });
    return undefined;
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

  /** One search node: its candidate placements, or a code when it ends at once. */
  private enterSearch(stack: Frame[], part: Part, floorOff: number, lastPre: number): Code | undefined {
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
    const items: number[] = [];
    for (const b of part.buffers) {
      if (off[b] >= 0) continue;
      const o = eff[b];
      if (o >= minHeight || o > oMax || o < floorOff || (o === floorOff && pre[b] < lastPre)) continue;
      items.push(b);
    }
    items.sort((x, y) => eff[x] - eff[y] || pre[x] - pre[y]);
    stack.push({ t: SEARCH, part, cand: items, candOff: items.map((b) => eff[b]), k: 0, b: -1, mark: 0 });
    return undefined;
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
