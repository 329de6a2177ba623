// Views that need no copy. A reshape, and a split / chunk / slice along an axis with only unit axes
// before it, select a contiguous run of their input's elements in the same order: the output can
// be that run of the input's storage (an alias) instead of a copy. Kernels never write in place,
// so an alias is safe while its root stays live; plan.ts extends the root's lifetime to the
// alias's last reader. Kept as copies: views of weights (their storage moves when weights are
// streamed), and runs that start off the arena's alignment (kernels rely on aligned pointers).
import type { Graph, Op } from '../ir/types.js';
import { numel } from '../ir/types.js';

export interface Alias {
  readonly root: number; // the tensor whose storage holds the alias (never itself an alias)
  readonly byteOffset: number;
}

/** The element offset of output k of a view op inside its input, when it is a contiguous run. */
function contiguousRun(g: Graph, op: Op, k: number): number | undefined {
  const xs = g.tensors[op.inputs[0]].shape;
  if (op.kind === 'reshape') return 0;
  if (op.kind !== 'split' && op.kind !== 'chunk' && op.kind !== 'slice') return undefined;
  const ax = op.attrs.axis as number;
  if (numel(xs.slice(0, ax)) !== 1) return undefined;
  const inner = numel(xs.slice(ax + 1));
  let at = op.kind === 'slice' ? (op.attrs.start as number) : 0;
  for (let j = 0; j < k; j++) at += g.tensors[op.outputs[j]].shape[ax];
  return at * inner;
}

/** Every aliased tensor, resolved to its root storage. */
export function viewAliases(g: Graph, bytesOf: (id: number) => number, align: number): ReadonlyMap<number, Alias> {
  const out = new Map<number, Alias>();
  for (const op of g.ops) {
    op.outputs.forEach((y, k) => {
      const run = contiguousRun(g, op, k);
      if (run === undefined) return;
      const x = op.inputs[0];
      const base = out.get(x) ?? { root: x, byteOffset: 0 };
      if (g.tensors[base.root].kind === 'weight') return;
      const byteOffset = base.byteOffset + (run * bytesOf(x)) / Math.max(1, numel(g.tensors[x].shape));
      if (byteOffset % align !== 0) return;
      out.set(y, { root: base.root, byteOffset });
    });
  }
  return out;
}
