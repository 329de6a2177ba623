// Arena layout for generated programs. Weights get their own arena (sequential, they live for the
// whole run); inputs, activations and outputs share one arena laid out by one of:
//   - 'sequential': one slot per tensor, never reused (one buffer per tensor; the reference layout);
//   - 'greedy': lifetimes [producer op, last reader op] (inputs from -1, outputs to the end), largest
//     first, each at the lowest offset that overlaps no placed tensor whose lifetime overlaps;
//   - an external plan (`--offsets FILE.json`, from the memory planner): {"total": BYTES,
//     "offsets": {"TENSOR_ID": OFFSET, ...}} covering every non-weight tensor.
// Every offset is a multiple of ALIGN (tensor-core tiles and 16-byte vector loads need it).
import type { Graph } from '../ir/types.js';
import { numel } from '../ir/types.js';

export const ALIGN = 256;
export type ArenaMode = 'sequential' | 'greedy';

export interface ArenaPlan {
  readonly total: number;
  /** Byte offset per tensor id (undefined for weights). */
  readonly offsets: ReadonlyMap<number, number>;
  readonly weightTotal: number;
  readonly weightOffsets: ReadonlyMap<number, number>;
}

const up = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

export function planArena(g: Graph, bytesOf: (id: number) => number, mode: ArenaMode, external?: { total: number; offsets: Record<string, number> }): ArenaPlan {
  const weightOffsets = new Map<number, number>();
  let wt = 0;
  for (const t of g.tensors) if (t.kind === 'weight') { weightOffsets.set(t.id, wt); wt += up(bytesOf(t.id)); }
  const acts = g.tensors.filter((t) => t.kind !== 'weight');
  const offsets = new Map<number, number>();
  if (external) {
    for (const t of acts) {
      const o = external.offsets[String(t.id)];
      if (!Number.isSafeInteger(o) || o < 0 || o % ALIGN !== 0 || o + bytesOf(t.id) > external.total)
        throw new Error(`offsets: tensor ${t.id} (${t.name}) needs an offset that is a multiple of ${ALIGN} inside the arena of ${external.total} bytes, got ${o}`);
      offsets.set(t.id, o);
    }
    return { total: external.total, offsets, weightTotal: wt, weightOffsets };
  }
  if (mode === 'sequential') {
    let at = 0;
    for (const t of acts) { offsets.set(t.id, at); at += up(bytesOf(t.id)); }
    return { total: at, offsets, weightTotal: wt, weightOffsets };
  }
  const end = g.ops.length;
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  for (const id of g.inputs) { first.set(id, -1); last.set(id, -1); }
  for (const op of g.ops) {
    for (const i of op.inputs) last.set(i, Math.max(last.get(i) ?? op.id, op.id));
    for (const o of op.outputs) { first.set(o, op.id); if (!last.has(o)) last.set(o, op.id); }
  }
  for (const id of g.outputs) last.set(id, end);
  const order = [...acts].sort((a, b) => bytesOf(b.id) - bytesOf(a.id) || a.id - b.id);
  const placed: { s: number; e: number; off: number; size: number }[] = [];
  let total = 0;
  for (const t of order) {
    const s = first.get(t.id) ?? -1;
    const e = last.get(t.id) ?? s;
    const size = up(bytesOf(t.id));
    const busy = placed.filter((p) => p.s <= e && s <= p.e).sort((a, b) => a.off - b.off);
    let off = 0;
    for (const p of busy) {
      if (p.off >= off + size) break;
      off = Math.max(off, p.off + p.size);
    }
    placed.push({ s, e, off, size });
    offsets.set(t.id, off);
    total = Math.max(total, off + size);
  }
  return { total, offsets, weightTotal: wt, weightOffsets };
}

export const elements = (shape: readonly number[]): number => numel(shape);
