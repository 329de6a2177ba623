// A linear whose output is only cut into column blocks is computed block by block. HunyuanVideo's
// single block splits linear1's [L, 21504] output into qkv and the MLP input, and SplitHeads cuts
// qkv into q, k, v: as written, the program holds the whole 4.8 GB product, then copies each block
// out (at 720p that product is the arena's peak). Rows [c, c + n) of the weight [N, K] give columns
// [c, c + n) of the product, so each block is one linear on a row range of the weight (a pointer
// offset, no copy), written straight into the block's own tensor; the product and the views between
// are never stored. A column block is what a chain of these yields:
//   - reshape that keeps the leading axes and factors the columns (e.g. [L, 3*H] -> [L, 3, heads, d]);
//   - split / chunk along the first column axis (each part is a contiguous run of columns).
// Anything else (another consumer, a graph output, a split along an inner axis) ends the chain: that
// tensor is a block, computed whole. Weight and bias offsets must stay 16-byte aligned (vector loads).
import type { Graph, Op } from '../ir/types.js';
import { numel } from '../ir/types.js';
import { elementBytes } from './alias.js';

export interface Block {
  readonly tensor: number;
  readonly col: number; // first column (output feature) of the linear
  readonly cols: number;
}

export interface Fusion {
  /** Linear op id -> the blocks it computes instead of its output. */
  readonly blocks: ReadonlyMap<number, readonly Block[]>;
  /** Tensors never stored (the linear's output and the views between it and the blocks). */
  readonly virtual: ReadonlySet<number>;
  /** View ops with nothing left to do. */
  readonly skipped: ReadonlySet<number>;
  /** Block tensor -> the linear op that now produces it. */
  readonly producer: ReadonlyMap<number, number>;
}

const ALIGN_BYTES = 16;

export function fuseColumnSplits(g: Graph, bytesOf: (id: number) => number): Fusion {
  const readers = new Map<number, Op[]>();
  for (const op of g.ops) for (const i of op.inputs) readers.set(i, [...(readers.get(i) ?? []), op]);
  const outputs = new Set(g.outputs);
  const elem = elementBytes(g, bytesOf);
  const fusion = { blocks: new Map<number, Block[]>(), virtual: new Set<number>(), skipped: new Set<number>(), producer: new Map<number, number>() };

  for (const op of g.ops) {
    if (op.kind !== 'linear') continue;
    const y = op.outputs[0];
    const lead = g.tensors[y].shape.length - 1;
    const blocks: Block[] = [];
    const virtual: number[] = [];
    const skipped: number[] = [];
    // t: a tensor [lead axes..., column axes...] holding columns [col, col + its column count).
    const walk = (t: number, col: number): void => {
      const shape = g.tensors[t].shape;
      const rs = readers.get(t) ?? [];
      const next = rs.length === 1 && !outputs.has(t) ? rs[0] : undefined;
      const out = next ? g.tensors[next.outputs[0]].shape : [];
      const sameLead = out.slice(0, lead).join() === shape.slice(0, lead).join();
      if (next?.kind === 'reshape' && sameLead && out.length > lead) {
        virtual.push(t); skipped.push(next.id);
        walk(next.outputs[0], col);
      } else if ((next?.kind === 'split' || next?.kind === 'chunk') && next.attrs.axis === lead) {
        virtual.push(t); skipped.push(next.id);
        const inner = numel(shape.slice(lead + 1));
        let at = 0;
        for (const part of next.outputs) {
          walk(part, col + at * inner);
          at += g.tensors[part].shape[lead];
        }
      } else {
        blocks.push({ tensor: t, col, cols: numel(shape.slice(lead)) });
      }
    };
    walk(y, 0);
    if (blocks.length < 2) continue; // the output itself is the only block: nothing to fuse
    const [w, bias] = [op.inputs[1], op.attrs.bias ? op.inputs[2] : undefined];
    const K = g.tensors[op.inputs[0]].shape.at(-1)!;
    const aligned = blocks.every((b) => (b.col * K * elem(w)) % ALIGN_BYTES === 0 && (bias === undefined || (b.col * elem(bias)) % ALIGN_BYTES === 0));
    if (!aligned) continue;
    fusion.blocks.set(op.id, blocks);
    for (const t of virtual) fusion.virtual.add(t);
    for (const s of skipped) fusion.skipped.add(s);
    for (const b of blocks) fusion.producer.set(b.tensor, op.id);
  }
  return fusion;
}
