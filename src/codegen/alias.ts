// Tensors that need no storage of their own, because they are a contiguous run of another's:
//   - views: a reshape, and a split / chunk / slice along an axis with only unit axes before it,
//     select a run of their input in the same order, so the output is that run of the input;
//   - concatenation along such an axis: each input is made directly in its place in the output
//     (the producer writes there), so the concat copies nothing.
// Kernels never write in place, so sharing is safe while the storage stays live; plan.ts keeps a
// root's buffer live from the first producer to the last reader of anything stored in it.
// Not shared: weights (their storage moves when weights are streamed), graph inputs placed into a
// concat (they are loaded, not produced), a tensor that two concats or two places would want, and
// runs that start off the arena's alignment (kernels rely on aligned pointers).
import type { Graph, Op } from '../ir/types.js';
import { numel } from '../ir/types.js';
import type { Fusion } from './fuse.js';

export interface Alias {
  readonly root: number; // the tensor whose storage holds the alias (never itself an alias)
  readonly byteOffset: number;
}

/** Element offset of a part along `axis` of a tensor whose axes before `axis` are all 1, or undefined. */
function runOffset(shape: readonly number[], axis: number, at: number): number | undefined {
  return numel(shape.slice(0, axis)) === 1 ? at * numel(shape.slice(axis + 1)) : undefined;
}

/** For output k of a view op: its element offset inside the op's input, when it is a contiguous run. */
function viewRun(g: Graph, op: Op, k: number): number | undefined {
  if (op.kind === 'reshape') return 0;
  if (op.kind !== 'split' && op.kind !== 'chunk' && op.kind !== 'slice') return undefined;
  const ax = op.attrs.axis as number;
  let at = op.kind === 'slice' ? (op.attrs.start as number) : 0;
  for (let j = 0; j < k; j++) at += g.tensors[op.outputs[j]].shape[ax];
  return runOffset(g.tensors[op.inputs[0]].shape, ax, at);
}

/** Bytes per element of a tensor as the program stores it (bytesOf covers the storage dtype). */
export const elementBytes = (g: Graph, bytesOf: (id: number) => number) => (t: number): number =>
  bytesOf(t) / Math.max(1, numel(g.tensors[t].shape));

/** Every tensor stored inside another, resolved to the root that owns the storage. */
export function viewAliases(g: Graph, bytesOf: (id: number) => number, align: number, fusion?: Fusion): ReadonlyMap<number, Alias> {
  const elem = elementBytes(g, bytesOf);
  const parent = new Map<number, Alias>(); // one step: tensor -> the tensor it lives in
  const link = (t: number, of: number, elems: number | undefined): void => {
    const byteOffset = elems === undefined ? NaN : elems * elem(of);
    if (byteOffset % align === 0 && !parent.has(t)) parent.set(t, { root: of, byteOffset });
  };
  // Views that a fused linear made unnecessary, and the tensors it never stores, take no part.
  const live = (op: Op): boolean => !fusion?.skipped.has(op.id);
  for (const op of g.ops.filter(live)) op.outputs.forEach((y, k) => link(y, op.inputs[0], viewRun(g, op, k)));
  const concats = g.ops.filter((op) => op.kind === 'concat' && live(op));
  const uses = new Map<number, number>();
  for (const op of concats) for (const x of op.inputs) uses.set(x, (uses.get(x) ?? 0) + 1);
  const inputs = new Set(g.inputs);
  for (const op of concats) {
    const ax = op.attrs.axis as number;
    const ys = g.tensors[op.outputs[0]].shape;
    let at = 0;
    for (const x of op.inputs) {
      const made = !inputs.has(x) && g.tensors[x].kind !== 'weight' && uses.get(x) === 1;
      if (made) link(x, op.outputs[0], runOffset(ys, ax, at));
      at += g.tensors[x].shape[ax];
    }
  }
  const out = new Map<number, Alias>();
  for (const t of parent.keys()) {
    let root = t;
    let byteOffset = 0;
    for (let p = parent.get(root); p; p = parent.get(root)) { byteOffset += p.byteOffset; root = p.root; }
    if (g.tensors[root].kind !== 'weight') out.set(t, { root, byteOffset });
  }
  return out;
}
