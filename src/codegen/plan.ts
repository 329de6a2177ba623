// Arena layout for generated programs. Weights get their own arena (sequential, they live for the
// whole run); inputs, activations and outputs share one arena laid out by one of:
//   - 'sequential': one slot per tensor, never reused (one buffer per tensor; the reference layout);
//   - 'greedy': the memory planner's greedy placement (src/alloc: best of several orders and fits);
//   - 'planned' (mc compile's default): the memory planner's full solve (allocate(): greedy, then the
//     exact search until the layout meets the live-bytes lower bound or the time limit), done by
//     solveArena() before emission and passed in as an external plan;
//   - an external plan (`--offsets FILE.json`): {"total": BYTES, "offsets": {"TENSOR_ID": OFFSET, ...}}
//     covering every non-weight tensor.
// Lifetimes are in op steps: a tensor is live from its producer to its last reader (inputs from
// before the first op, outputs to the end), both ends inclusive, so an op's output never shares
// bytes with its own inputs (the kernels are not in-place). Contiguous views and the parts of a
// concatenation share storage (alias.ts): no buffer of their own, their root live as long as they
// are. Every offset is a multiple of ALIGN (tensor-core tiles and 16-byte vector loads need it). Whatever the source, the layout is checked
// by the allocator's independent verifier before any code is written.
import { alignUp, allocate, type Buffer, greedy, verify } from '../alloc/index.js';
import { type Alias, viewAliases } from './alias.js';
import { type Fusion, fuseColumnSplits } from './fuse.js';
import type { Graph } from '../ir/types.js';

export const ALIGN = 256;
export type ArenaMode = 'sequential' | 'greedy' | 'planned';
export const ARENA_MODES: readonly ArenaMode[] = ['planned', 'greedy', 'sequential'];
export type ExternalOffsets = { readonly total: number; readonly offsets: Readonly<Record<string, number>> };

export interface ArenaPlan {
  readonly total: number;
  /** Byte offset per tensor id (undefined for weights); an alias sits inside its root. */
  readonly offsets: ReadonlyMap<number, number>;
  /** Views that share their input's storage instead of copying it (alias.ts). */
  readonly aliases: ReadonlyMap<number, Alias>;
  /** Linears computed block by block (fuse.ts). */
  readonly fusion: Fusion;
  readonly weightTotal: number;
  readonly weightOffsets: ReadonlyMap<number, number>;
}

const up = (n: number): number => alignUp(n, ALIGN);

/** The copies the program avoids: linears computed by column block, then storage shared by views. */
export function layoutOf(g: Graph, bytesOf: (id: number) => number): { fusion: Fusion; aliases: ReadonlyMap<number, Alias> } {
  const fusion = fuseColumnSplits(g, bytesOf);
  return { fusion, aliases: viewAliases(g, bytesOf, ALIGN, fusion) };
}

/**
 * One allocator buffer per non-weight tensor that owns storage (aliases and never-stored tensors do
 * not), id = the tensor id, end exclusive. A root is live from the first producer to the last reader
 * of anything stored in it.
 */
export function lifetimes(g: Graph, bytesOf: (id: number) => number, { fusion, aliases } = layoutOf(g, bytesOf)): Buffer[] {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  for (const id of g.inputs) { first.set(id, -1); last.set(id, -1); }
  for (const op of g.ops) {
    for (const i of op.inputs) last.set(i, Math.max(last.get(i) ?? op.id, op.id));
    for (const o of op.outputs) { first.set(o, op.id); if (!last.has(o)) last.set(o, op.id); }
  }
  for (const id of g.outputs) last.set(id, g.ops.length);
  for (const [t, op] of fusion.producer) first.set(t, op);
  for (const [t, a] of aliases) {
    first.set(a.root, Math.min(first.get(a.root) ?? g.ops.length, first.get(t) ?? g.ops.length));
    last.set(a.root, Math.max(last.get(a.root) ?? -1, last.get(t) ?? -1));
  }
  return g.tensors.filter((t) => t.kind !== 'weight' && !aliases.has(t.id) && !fusion.virtual.has(t.id)).map((t) => {
    const s = first.get(t.id) ?? -1;
    return { id: String(t.id), size: up(bytesOf(t.id)), start: s + 1, end: (last.get(t.id) ?? s) + 2, align: ALIGN };
  });
}

/** The planner's full solve for this program's arena; `note` says which solver and how close to the bound. */
export async function solveArena(g: Graph, bytesOf: (id: number) => number, timeLimitS: number): Promise<ExternalOffsets & { note: string }> {
  const sol = await allocate({ buffers: lifetimes(g, bytesOf) }, { solver: 'auto', timeLimitS, goalGap: 0.002 });
  const gap = sol.lowerBound > 0 ? (sol.peak / sol.lowerBound - 1) * 100 : 0;
  return {
    total: sol.peak, offsets: Object.fromEntries(sol.offsets),
    note: `${sol.solver}, ${sol.optimal ? 'optimal' : `${gap.toFixed(2)}% above`} the live-bytes bound ${sol.lowerBound} in ${sol.seconds.toFixed(2)} s`,
  };
}

export function planArena(g: Graph, bytesOf: (id: number) => number, mode: ArenaMode, external?: ExternalOffsets): ArenaPlan {
  const weightOffsets = new Map<number, number>();
  let wt = 0;
  for (const t of g.tensors) if (t.kind === 'weight') { weightOffsets.set(t.id, wt); wt += up(bytesOf(t.id)); }
  const { fusion, aliases } = layoutOf(g, bytesOf);
  const buffers = lifetimes(g, bytesOf, { fusion, aliases });
  let offs: number[];
  let total: number;
  if (external) {
    offs = buffers.map((b) => external.offsets[b.id]);
    total = external.total;
    const bad = buffers.findIndex((b, i) => !Number.isSafeInteger(offs[i]) || offs[i] < 0 || offs[i] % ALIGN !== 0 || offs[i] + bytesOf(Number(b.id)) > total);
    if (bad >= 0) {
      const t = g.tensors[Number(buffers[bad].id)];
      throw new Error(`offsets: tensor ${t.id} (${t.name}) needs an offset that is a multiple of ${ALIGN} inside the arena of ${total} bytes, got ${offs[bad]}`);
    }
  } else if (mode === 'sequential') {
    offs = [];
    total = 0;
    for (const b of buffers) { offs.push(total); total += b.size; }
  } else if (mode === 'greedy') {
    ({ offsets: offs, peak: total } = greedy(buffers));
  } else {
    throw new Error("arena 'planned' is solved by solveArena() and passed in as offsets");
  }
  const bad = verify(buffers, offs);
  if (bad.length > 0) throw new Error(`offsets: the arena layout overlaps live tensors: ${bad[0]}`);
  const offsets = new Map(buffers.map((b, i) => [Number(b.id), offs[i]]));
  for (const [t, a] of aliases) offsets.set(t, offsets.get(a.root)! + a.byteOffset);
  return { total, offsets, aliases, fusion, weightTotal: wt, weightOffsets };
}
