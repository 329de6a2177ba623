// Drives FitSearch to minimise the peak: fit under the capacity first (when one is given), then
// probe the lower bound, then bisect between the best proven-infeasible and best found peaks.
// Every probe has its own slice of the deadline; the best layout found so far is always kept.
import { conflictLists } from './conflicts.js';
import { FitSearch, type FitResult, type Item } from './search.js';
import { offsetGrain, alignOf, conflicts, type Buffer } from './types.js';

export interface MinimizeInput {
  readonly buffers: ReadonlyArray<Buffer>;
  readonly lowerBound: number;
  /** A valid layout to start from (e.g. greedy's), offsets by buffer index, and its peak. */
  readonly initial: ReadonlyArray<number>;
  readonly initialPeak: number;
  readonly capacity?: number;
  readonly stopAtCapacity: boolean;
  /** performance.now() deadline in ms. */
  readonly deadline: number;
  /** Called now and then during a long search (drives a progress bar). */
  readonly tick?: () => void;
}

export interface MinimizeResult {
  readonly offsets: number[];
  readonly peak: number;
  /** The peak is proven minimal (equal to the bound, or every smaller cap proven infeasible). */
  readonly optimal: boolean;
  /** Whether the search (not the initial layout) produced the returned offsets. */
  readonly improved: boolean;
  readonly notes: string[];
}

export function minimizePeak(inp: MinimizeInput): MinimizeResult {
  const { buffers } = inp;
  // Searchable items: sized, live, not pinned. Pinned buffers become obstacles; the rest sit at 0.
  const idx: number[] = [];
  const pinned: number[] = [];
  buffers.forEach((b, i) => {
    if (b.fixedOffset !== undefined) pinned.push(i);
    else if (b.size > 0 && b.start < b.end) idx.push(i);
  });
  const pos = new Map<number, number>(idx.map((i, k) => [i, k]));
  const all = conflictLists(buffers);
  const overlaps = idx.map((i) => all[i].filter((j) => pos.has(j)).map((j) => pos.get(j) as number));
  const obstacles = idx.map((i) => {
    const obs = pinned.filter((p) => conflicts(buffers[i], buffers[p]));
    if (obs.length === 0) return null;
    obs.sort((x, y) => (buffers[x].fixedOffset as number) - (buffers[y].fixedOffset as number));
    return Float64Array.from(obs.flatMap((p) => [buffers[p].fixedOffset as number, (buffers[p].fixedOffset as number) + buffers[p].size]));
  });
  const items: Item[] = idx.map((i) => ({ size: buffers[i].size, start: buffers[i].start, end: buffers[i].end, align: alignOf(buffers[i]) }));
  const fs = new FitSearch(items, overlaps, obstacles);
  let pinnedTop = 0;
  for (const p of pinned) pinnedTop = Math.max(pinnedTop, (buffers[p].fixedOffset as number) + buffers[p].size);

  // Canonical peaks are sums of sizes and alignment steps: probe only multiples of their gcd.
  const g = offsetGrain(buffers);
  const up = (x: number) => Math.ceil(x / g) * g;
  const down = (x: number) => Math.floor(x / g) * g;

  let best = [...inp.initial];
  let bestPeak = inp.initialPeak;
  let improved = false;
  const notes: string[] = [];
  let provenLo = up(Math.max(inp.lowerBound, pinnedTop)); // every cap below this is infeasible
  let softLo = provenLo;
  const toOffsets = (found: Float64Array): number[] => {
    const out = buffers.map((b) => (b.fixedOffset !== undefined ? b.fixedOffset : 0));
    idx.forEach((i, k) => (out[i] = found[k]));
    return out;
  };
  const probe = (cap: number, budgetMs: number): 'found' | 'infeasible' | 'timeout' => {
    const deadline = Math.min(inp.deadline, performance.now() + budgetMs);
    const r: FitResult = fs.fit(cap, deadline, inp.tick);
    if (r.status === 'found' && r.offsets) {
      const offs = toOffsets(r.offsets);
      let peak = pinnedTop;
      buffers.forEach((b, i) => b.size > 0 && (peak = Math.max(peak, offs[i] + b.size)));
      if (peak < bestPeak) {
        best = offs;
        bestPeak = peak;
        improved = true;
      }
    } else if (r.status === 'infeasible') {
      // Around pinned obstacles the canonical enumeration is not known to be complete, so there an
      // exhausted search only steers the bisection and proves nothing.
      if (pinned.length === 0) provenLo = Math.max(provenLo, up(cap + 1));
      else softLo = Math.max(softLo, up(cap + 1));
    }
    notes.push(`search cap ${cap}: ${r.status} (${r.nodes} nodes)`);
    return r.status;
  };
  const left = () => inp.deadline - performance.now();

  // The capacity gets half the budget: when it cannot be met in time, the rest goes to the lowest
  // peak the search can find, so the caller can say how far from fitting it is.
  if (inp.capacity !== undefined && bestPeak > inp.capacity && down(inp.capacity) >= provenLo) {
    probe(down(inp.capacity), left() / 2);
    if (bestPeak > inp.capacity) softLo = Math.max(softLo, up(inp.capacity + 1));
  }
  const fits = inp.capacity !== undefined && bestPeak <= inp.capacity;
  if (!(fits && inp.stopAtCapacity)) {
    // First the bound itself (the usual answer on real traces), then bisection.
    if (bestPeak > provenLo && left() > 0) {
      const r = probe(provenLo, left() / 3);
      if (r === 'timeout') softLo = provenLo + g;
    }
    while (bestPeak > Math.max(provenLo, softLo) && left() > 1) {
      const lo = Math.max(provenLo, softLo);
      const mid = Math.max(lo, down((lo + bestPeak - g) / 2));
      const r = probe(mid, left() / 2);
      if (r === 'timeout') softLo = mid + g;
    }
  }
  return { offsets: best, peak: bestPeak, optimal: bestPeak <= provenLo, improved, notes };
}

