// The plan's memory, placed: the request trace (trace.ts) laid out in one arena per GPU by the
// bi-level allocator (MEMO §4.2: level 1 per layer forward / backward transients, identical layers
// solved once; level 2 the layer blocks with everything else), beside what PyTorch's caching
// allocator would reserve for the same trace. The arena is what the plan needs in fact; when it
// exceeds the analytic peak (a sum of per-category peaks) the report says by how much and why.
import { allocateGrouped, greedy, simulateCachingAllocator, traceFromBuffers, verify } from '../alloc/index.js';
import type { InferencePlan } from './infer.js';
import type { TrainingPlan } from './plan.js';
import { type BufferKind, type PlanBuffer, buildTrace } from './trace.js';
import type { Breakdown } from './types.js';

export type AllocChoice = 'greedy' | 'mip' | 'search' | 'auto';
export const ALLOC_CHOICES: readonly AllocChoice[] = ['greedy', 'mip', 'search', 'auto'];
/** Whole solve budget; levels stop early once their layout meets its lower bound. */
export const ALLOC_TIME_LIMIT_S = 2;
/** An arena this little over the analytic peak (alignment padding) needs no explanation. */
const NOTE_BYTES = 2 ** 20;
const NOTE_FRACTION = 1e-3;

export interface ArenaBuffer {
  readonly id: string;
  readonly offset: number;
  readonly size: number;
  readonly start: number;
  readonly end: number;
  readonly kind: BufferKind;
  readonly layer: string;
  readonly tensor?: number; // the IR tensor of an activation or gradient buffer
}

export interface ArenaReport {
  readonly arenaBytes: number;
  readonly lowerBoundBytes: number;
  readonly fragmentation: number;
  readonly cachingAllocatorBytes: number;
  readonly allocSolver: string;
  readonly allocSeconds: number;
  readonly optimal: boolean;
  readonly steps: number;
  /** Layer blocks placed at level 2, and the distinct level-1 problems solved for them. */
  readonly blocks: number;
  readonly level1Solved: number;
  /** null: not checked (no --verify); otherwise the verifier's findings (empty = verified). */
  readonly violations: readonly string[] | null;
  /** Why the arena exceeds the analytic peak, or null when it does not. */
  readonly exceeds: string | null;
  readonly buffers: readonly ArenaBuffer[];
}

export interface ArenaOptions {
  readonly solver?: AllocChoice;
  readonly timeLimitS?: number;
  readonly verify?: boolean;
}

// Searching past 0.2% above the lower bound buys at most 0.2% of memory (HunyuanVideo training: 60
// MiB) for up to the whole time limit; an explicit --alloc search/mip still searches to the end.
const GOAL_GAP = 0.002;

const CATEGORY: Record<BufferKind, keyof Breakdown> = {
  weights: 'weights', gradients: 'gradients', optimizer: 'optimizer', skeletal: 'skeletal',
  transient: 'transient', swap: 'swapBuffers', workspace: 'workspace',
};
const gib = (b: number): string =>
  b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`;

export async function planArena(p: TrainingPlan | InferencePlan, opts: ArenaOptions = {}): Promise<ArenaReport> {
  const trace = p.mode === 'train'
    ? buildTrace({ ctx: p.ctx, mode: 'train', strategy: p.plan.strategy, actions: p.plan.layers.map((l) => l.action), swapBufferBytes: p.plan.breakdown.swapBuffers })
    : buildTrace({ ctx: p.ctx, mode: 'infer', offloadWeights: p.offloadWeights });
  const solver = (opts.solver ?? 'auto') === 'mip' ? 'highs' : opts.solver ?? 'auto';
  let seconds = 0;
  const sol = await allocateGrouped({ groups: trace.groups, others: trace.others }, { solver, timeLimitS: opts.timeLimitS ?? ALLOC_TIME_LIMIT_S, stopAtCapacity: false, goalGap: solver === 'auto' ? GOAL_GAP : undefined });
  let offsets: ReadonlyMap<string, number> = sol.offsets;
  let arena = sol.peak;
  // When the solver asked for did not produce the kept layout, say what it reported (as mc alloc does).
  const why = solver === 'highs' || solver === 'search' ? sol.notes.filter((n) => n.startsWith(solver)).at(-1) : undefined;
  let used = why && !sol.solver.includes(solver) ? `${sol.solver} (${why})` : sol.solver;
  // Layer blocks reserve their peak over their whole span; where activations cross layer boundaries
  // (e.g. DiT inference, whose two streams are live across blocks) that can cost more than 1%. Then
  // a flat best-fit over the whole trace is tried too, and the better verified layout kept.
  if (sol.peak > sol.lowerBound * 1.01) {
    const t0 = performance.now();
    const flat = greedy(trace.buffers);
    if (flat.peak < arena && verify(trace.buffers, flat.offsets).length === 0) {
      offsets = new Map(trace.buffers.map((b, i) => [b.id, flat.offsets[i]]));
      arena = flat.peak;
      used = `greedy (flat ${flat.variant}; bilevel reached ${sol.peak})`;
    }
    seconds += (performance.now() - t0) / 1000;
  }
  const buffers: ArenaBuffer[] = trace.buffers.map((b) => ({
    id: b.id, offset: offsets.get(b.id)!, size: b.size, start: b.start, end: b.end, kind: b.kind, layer: b.layer,
    ...(b.tensor === undefined ? {} : { tensor: b.tensor }),
  }));
  seconds += sol.seconds;
  const violations = opts.verify ? verify(trace.buffers, offsets) : null;
  const caching = simulateCachingAllocator(traceFromBuffers(trace.buffers));
  const peak = p.mode === 'train' ? p.plan.peakBytes : p.peakBytes;
  const breakdown = p.mode === 'train' ? p.plan.breakdown : p.breakdown;
  return {
    arenaBytes: arena, lowerBoundBytes: sol.lowerBound, fragmentation: sol.lowerBound > 0 ? arena / sol.lowerBound - 1 : 0,
    cachingAllocatorBytes: caching.reservedPeakBytes, allocSolver: used, allocSeconds: seconds, optimal: arena <= sol.lowerBound,
    steps: trace.steps, blocks: sol.blocks.length, level1Solved: sol.level1Solved, violations,
    exceeds: arena - peak > Math.max(NOTE_BYTES, NOTE_FRACTION * peak) ? explain(trace.buffers, trace.phaseAt, arena, sol.lowerBound, peak, breakdown) : null,
    buffers,
  };
}

/** Where the trace's live bytes peak, and which kinds are then above their analytic category. */
function explain(buffers: readonly PlanBuffer[], phaseAt: (s: number) => string, arena: number, lb: number, peak: number, bd: Breakdown): string {
  const parts: string[] = [`arena ${gib(arena)} exceeds the analytic peak ${gib(peak)} by ${gib(arena - peak)}`];
  if (lb > peak) {
    const steps = Math.max(0, ...buffers.map((b) => b.end)) + 1;
    const delta = new Float64Array(steps + 1);
    for (const b of buffers) { delta[b.start] += b.size; delta[b.end] -= b.size; }
    let live = 0, best = -1, at = 0;
    for (let s = 0; s < steps; s++) { live += delta[s]; if (live > best) { best = live; at = s; } }
    const byKind = new Map<keyof Breakdown, number>();
    for (const b of buffers) if (b.start <= at && at < b.end) byKind.set(CATEGORY[b.kind], (byKind.get(CATEGORY[b.kind]) ?? 0) + b.size);
    const over = [...byKind].filter(([k, v]) => v > bd[k]).map(([k, v]) => `${k} ${gib(v)} (analytic ${gib(bd[k])})`);
    parts.push(`the trace holds ${gib(lb)} live at step ${at} (${phaseAt(at)})${over.length ? `: ${over.join(', ')}` : ''}; ` +
      'the analytic figure adds per-category peaks taken layer by layer, so tensors alive across a layer boundary can fall outside it');
  }
  if (arena > lb) parts.push(`layout overhead over the trace's lower bound ${gib(arena - lb)}`);
  return parts.join('; ');
}
