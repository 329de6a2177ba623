// Bi-level allocation as in MEMO (Zhao et al.): level 1 lays out each layer's forward transients and,
// separately, its backward transients, each as its own small problem; level 2 places every such
// layout as one pseudo-buffer (its peak bytes, over its whole span) together with the other requests
// (embeddings, logits, model states, swap staging, ...). Identical layers are solved once (MEMO's
// observation that transformer layers repeat). The composed layout is checked by the verifier against
// the flat problem; a composition that failed it would be replaced by a flat greedy layout.
import { allocate } from './allocate.js';
import { greedy } from './greedy.js';
import { lowerBound } from './lowerBound.js';
import { verify } from './verify.js';
import { lcm, alignOf, type AllocOptions, type Buffer, type Solution } from './types.js';

export interface LayerGroup {
  readonly id: string;
  readonly forward: ReadonlyArray<Buffer>;
  readonly backward: ReadonlyArray<Buffer>;
}

export interface GroupedProblem {
  readonly groups: ReadonlyArray<LayerGroup>;
  /** Requests outside any layer block. Pinned buffers are allowed here, not inside groups. */
  readonly others: ReadonlyArray<Buffer>;
  readonly capacity?: number;
}

export interface Block {
  readonly id: string;
  readonly group: string;
  readonly phase: 'forward' | 'backward';
  readonly offset: number;
  readonly size: number;
  readonly start: number;
  readonly end: number;
}

export interface GroupedSolution extends Solution {
  readonly blocks: ReadonlyArray<Block>;
  readonly level1Seconds: number;
  readonly level2Seconds: number;
  /** Distinct level-1 problems actually solved (the rest reused an identical layer's layout). */
  readonly level1Solved: number;
}

interface Inner {
  readonly peak: number;
  readonly rel: ReadonlyArray<number>; // offsets relative to the block, in the order given
}

export async function allocateGrouped(p: GroupedProblem, opts: AllocOptions = {}): Promise<GroupedSolution> {
  const t0 = performance.now();
  const limitMs = (opts.timeLimitS ?? 10) * 1000;
  const flat: Buffer[] = [...p.groups.flatMap((g) => [...g.forward, ...g.backward]), ...p.others];
  // Level 1: one problem per (layer, phase); identical shapes share one solve.
  const cache = new Map<string, Inner>();
  const jobs = p.groups.flatMap((g) =>
    (['forward', 'backward'] as const).filter((ph) => g[ph].length > 0).map((ph) => ({ g, ph, bufs: g[ph] })),
  );
  const distinct = new Set(jobs.map((j) => signature(j.bufs))).size;
  // Level 1 may use 40% of the budget. Each distinct solve gets an equal share of what is left of it,
  // so time a solve does not need (most stop at their bound at once) goes to the ones after it.
  const l1Deadline = t0 + limitMs * 0.4;
  const l1Solvers = new Set<string>();
  const pseudo: Buffer[] = [];
  const blockOf: Array<{ job: (typeof jobs)[number]; inner: Inner; pid: string }> = [];
  for (const job of jobs) {
    for (const b of job.bufs) {
      if (b.fixedOffset !== undefined) throw new Error(`bilevel: pinned buffer '${b.id}' inside layer '${job.g.id}'`);
    }
    const key = signature(job.bufs);
    let inner = cache.get(key);
    if (!inner) {
      const share = (l1Deadline - performance.now()) / (distinct - cache.size);
      const s = await allocate({ buffers: job.bufs }, { ...opts, timeLimitS: Math.max(0, share) / 1000 });
      l1Solvers.add(s.solver);
      inner = { peak: s.peak, rel: job.bufs.map((b) => s.offsets.get(b.id) as number) };
      cache.set(key, inner);
    }
    const start = Math.min(...job.bufs.map((b) => b.start));
    const end = Math.max(...job.bufs.map((b) => b.end));
    const align = job.bufs.reduce((a, b) => lcm(a, alignOf(b)), 1);
    const pid = `\u0000block:${job.g.id}:${job.ph}`;
    pseudo.push({ id: pid, size: inner.peak, start, end, ...(align > 1 ? { align } : {}) });
    blockOf.push({ job, inner, pid });
  }
  const t1 = performance.now();
  // Level 2: blocks plus the other requests, with the remaining time.
  const left = Math.max(0.05, (limitMs - (t1 - t0)) / 1000);
  const top = await allocate({ buffers: [...pseudo, ...p.others], capacity: p.capacity }, { ...opts, timeLimitS: left });
  const t2 = performance.now();
  const offsets = new Map<string, number>();
  for (const b of p.others) offsets.set(b.id, top.offsets.get(b.id) as number);
  const blocks: Block[] = [];
  for (const { job, inner, pid } of blockOf) {
    const base = top.offsets.get(pid) as number;
    job.bufs.forEach((b, k) => offsets.set(b.id, base + inner.rel[k]));
    const ps = pseudo.find((x) => x.id === pid) as Buffer;
    blocks.push({ id: pid.slice(1), group: job.g.id, phase: job.ph, offset: base, size: inner.peak, start: ps.start, end: ps.end });
  }
  const lb = lowerBound(flat);
  let peak = top.peak;
  // Name the solvers whose layouts were kept: level 2's, and level 1's unless they are all the same.
  const l1 = [...l1Solvers];
  let solver = `bilevel(${top.solver}${l1.every((x) => x === top.solver) ? '' : `; level 1 ${l1.join(', ')}`})`;
  if (verify(flat, offsets).length > 0) {
    // Should not happen (blocks reserve their whole span); never hand out an unverified layout.
    const g = greedy(flat);
    flat.forEach((b, i) => offsets.set(b.id, g.offsets[i]));
    peak = g.peak;
    solver = 'greedy';
  }
  return {
    offsets,
    peak,
    lowerBound: lb,
    solver,
    seconds: (performance.now() - t0) / 1000,
    optimal: peak <= lb,
    gap: lb > 0 ? peak / lb - 1 : 0,
    withinCapacity: p.capacity !== undefined && peak <= p.capacity,
    notes: [`level 1: ${jobs.length} blocks, ${cache.size} distinct solves`, ...top.notes],
    blocks,
    level1Seconds: (t1 - t0) / 1000,
    level2Seconds: (t2 - t1) / 1000,
    level1Solved: cache.size,
  };
}

/** Shape of a layer's transients up to a shift in time: equal signatures have equal layouts. */
function signature(bufs: ReadonlyArray<Buffer>): string {
  const t0 = Math.min(...bufs.map((b) => b.start));
  return bufs.map((b) => `${b.size}@${b.start - t0}-${b.end - t0}/${alignOf(b)}`).join(',');
}
