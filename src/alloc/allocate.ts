// allocate(problem, options) -> verified Solution: runs the chosen solver(s) under one deadline.
// Solvers: greedy (baseline), search (exact branch-and-bound), mip/glpk/highs (big-M MIP), and
// auto (greedy, then search when greedy misses the bound, MIP only on small leftovers).
// Every answer passes the independent verifier; a solver whose layout fails it is discarded.
import { greedy } from './greedy.js';
import { alignedLowerBound, lowerBound } from './lowerBound.js';
import { minimizePeak } from './minimize.js';
import { mipSolve, MIP_AUTO_MAX_PAIRS } from './mip.js';
import { conflictLists, countPairs } from './conflicts.js';
import { verify } from './verify.js';
import { alignOf, conflicts, type AllocOptions, type Buffer, type Problem, type Solution } from './types.js';

export class AllocError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AllocError';
  }
}

const DEFAULT_TIME_LIMIT_S = 10;

export async function allocate(problem: Problem, opts: AllocOptions = {}): Promise<Solution> {
  const t0 = performance.now();
  const solver = opts.solver ?? 'auto';
  const limitS = opts.timeLimitS ?? DEFAULT_TIME_LIMIT_S;
  const deadline = t0 + Math.max(0, limitS) * 1000;
  const { buffers, capacity } = problem;
  checkProblem(buffers);
  const lb = lowerBound(buffers);
  // What proves a layout optimal (and stops every solver): the bound with alignment, never below lb.
  const proven = alignedLowerBound(buffers);
  const g = greedy(buffers);
  const notes: string[] = [`greedy ${g.variant}: peak ${g.peak}`];
  let offsets = g.offsets;
  let peak = g.peak;
  let used = 'greedy';
  let optimal = peak <= proven;
  const fits = () => capacity !== undefined && peak <= capacity;
  const stopAtCapacity = opts.stopAtCapacity ?? true;
  const goodEnough = () => opts.goalGap !== undefined && peak <= lb * (1 + opts.goalGap);
  const wantMore = () => !optimal && !(fits() && stopAtCapacity) && !goodEnough() && performance.now() < deadline;

  const tryLayout = (name: string, offs: number[], p: number, opt: boolean): void => {
    const bad = verify(buffers, offs);
    if (bad.length > 0) {
      notes.push(`${name} layout rejected by verifier: ${bad[0]}`);
      return;
    }
    if (p < peak || (p === peak && opt && !optimal)) {
      offsets = offs;
      peak = p;
      used = name;
    }
    if (opt && p <= peak) optimal = true;
  };

  const runSearch = (until: number) => {
    const tick = opts.onProgress && (() => opts.onProgress!((performance.now() - t0) / (deadline - t0)));
    const r = minimizePeak({ buffers, lowerBound: proven, initial: offsets, initialPeak: peak, capacity, stopAtCapacity, deadline: until, tick });
    notes.push(...r.notes);
    tryLayout(r.improved ? 'search' : used, r.offsets, r.peak, r.optimal);
  };
  const runMip = async (which: 'glpk' | 'highs', until: number) => {
    const r = await mipSolve(buffers, { which, lowerBound: proven, upperBound: peak, incumbent: offsets, capacity, deadline: until });
    notes.push(r.note);
    if (r.offsets) tryLayout(which, r.offsets, r.peak, r.optimal);
  };

  if (solver === 'search' && wantMore()) runSearch(deadline);
  else if ((solver === 'mip' || solver === 'highs') && wantMore()) await runMip('highs', deadline);
  else if (solver === 'glpk' && wantMore()) await runMip('glpk', deadline);
  else if (solver === 'auto' && wantMore()) {
    const pairs = countPairs(conflictLists(buffers));
    const small = pairs <= MIP_AUTO_MAX_PAIRS;
    runSearch(small ? t0 + (deadline - t0) * 0.7 : deadline);
    if (small && wantMore()) await runMip('highs', deadline);
  }
  // The kept layout is re-verified here, so even greedy's answer is never returned unchecked.
  const bad = verify(buffers, offsets);
  if (bad.length > 0) throw new AllocError(`internal error: layout failed verification: ${bad[0]}`);
  const map = new Map<string, number>(buffers.map((b, i) => [b.id, offsets[i]]));
  return {
    offsets: map,
    peak,
    lowerBound: lb,
    solver: used,
    seconds: (performance.now() - t0) / 1000,
    optimal: optimal || peak <= proven,
    gap: lb > 0 ? peak / lb - 1 : 0,
    withinCapacity: capacity !== undefined && peak <= capacity,
    notes,
  };
}

/** Rejects malformed problems with one clear message (solvers may then assume sane input). */
function checkProblem(buffers: ReadonlyArray<Buffer>): void {
  const ids = new Set<string>();
  for (const b of buffers) {
    const where = `buffer '${b.id}'`;
    if (ids.has(b.id)) throw new AllocError(`duplicate buffer id '${b.id}'`);
    ids.add(b.id);
    for (const [k, v] of [['size', b.size], ['start', b.start], ['end', b.end]] as const) {
      if (!Number.isSafeInteger(v)) throw new AllocError(`${where}: ${k} must be an integer, got ${v}`);
    }
    if (b.size < 0) throw new AllocError(`${where}: negative size ${b.size}`);
    if (b.end < b.start) throw new AllocError(`${where}: end ${b.end} before start ${b.start}`);
    if (b.align !== undefined && (!Number.isSafeInteger(b.align) || b.align < 1)) {
      throw new AllocError(`${where}: alignment must be a positive integer, got ${b.align}`);
    }
    const f = b.fixedOffset;
    if (f !== undefined && (!Number.isSafeInteger(f) || f < 0 || f % alignOf(b) !== 0)) {
      throw new AllocError(`${where}: pinned offset ${f} is not a non-negative aligned integer`);
    }
  }
  const pinned = buffers.filter((b) => b.fixedOffset !== undefined);
  for (let i = 0; i < pinned.length; i++) {
    for (let j = i + 1; j < pinned.length; j++) {
      const a = pinned[i];
      const c = pinned[j];
      const fa = a.fixedOffset as number;
      const fc = c.fixedOffset as number;
      if (conflicts(a, c) && fa < fc + c.size && fc < fa + a.size) {
        throw new AllocError(`pinned buffers '${a.id}' and '${c.id}' overlap`);
      }
    }
  }
}
