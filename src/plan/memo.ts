// MEMO's token-wise swap/recompute decision (memo.md §2.1), per layer kind. Each swapped layer
// always offloads its inputs and attention outputs (tensor granularity); of its other skeletal
// tensors a fraction alpha of the tokens is offloaded and the rest recomputed token-wise before
// the layer's backward. MEMO's linear program, with one alpha per layer kind k:
//   max alpha_k  s.t.  (S_in,k + S_attn,k + alpha_k S_oth,k) / B <= T_fwd,k        (hides)
//                      sum_k n_k (S_in,k + S_attn,k + alpha_k S_oth,k) <= M_cpu   (fits)
// n_k counts the swapped layers of kind k: all but the last two in execution order, which start
// their backward at once (MEMO: "(n-2)"). With one kind this is MEMO's closed form. With several
// kinds the CPU budget is shared: it goes first to the kind that saves the most recompute time
// per offloaded byte (a fractional knapsack, so the greedy order is optimal).
//
// Fallback (MEMO leaves it open): if the CPU cannot hold even the mandatory copies of every
// swapped layer, only the first m layers that fit are swapped (alpha 0) and the rest use full
// recompute with their inputs kept on the GPU; if the mandatory copies do not hide behind a
// forward, alpha is 0 and the plan reports the exposed copy time (auto then compares it with
// full recompute).
import type { Context } from './context.js';

export interface KindInfo {
  readonly kind: string;
  readonly layers: readonly number[]; // swapped layers of this kind
  readonly mandatory: number; // S_in + S_attn, bytes per layer (max over the kind)
  readonly others: number; // S_others
  readonly fwd: number; // T_layer (min over the kind)
  readonly recompute: number; // seconds to recompute all "others" of one layer
}

export interface MemoDecision {
  readonly alpha: Readonly<Record<string, number>>;
  /** Layers swapped (token-wise); the others among ctx.blocks use full recompute. */
  readonly swapped: ReadonlySet<number>;
  readonly notes: readonly string[];
  readonly kinds: readonly KindInfo[];
}

/** Ops of the layer whose outputs must be recomputed to rebuild its "other" skeletal tensors. */
export function recomputeOps(ctx: Context, layer: number): number[] {
  const { g, mem } = ctx;
  const need = new Set(mem[layer].saved.filter((s) => s.cls === 'other' && s.producer !== undefined).map((s) => s.producer!));
  const inLayer = new Set(g.layers[layer].ops);
  const out = new Set<number>();
  const stack = [...need];
  while (stack.length > 0) {
    const o = stack.pop()!;
    if (out.has(o) || !inLayer.has(o)) continue;
    const op = g.ops[o];
    if (op.kind === 'attention') continue; // its output is offloaded, never recomputed
    out.add(o);
    for (const t of op.inputs) { const p = g.tensors[t].producer; if (p !== undefined) stack.push(p); }
  }
  return [...out];
}

export function decideMemo(ctx: Context): MemoDecision {
  const { g, mem, blocks, layerTime } = ctx;
  const notes: string[] = [];
  const swappable = blocks.slice(0, Math.max(0, blocks.length - 2));
  const kindsOrder = [...new Set(blocks.map((l) => g.layers[l].kind))];
  const kinds: KindInfo[] = kindsOrder.map((kind) => {
    const ls = blocks.filter((l) => g.layers[l].kind === kind);
    const rec = Math.max(...ls.map((l) => recomputeOps(ctx, l).reduce((s, o) => s + ctx.ops[o].fwd, 0)));
    return {
      kind, layers: swappable.filter((l) => g.layers[l].kind === kind),
      mandatory: Math.max(...ls.map((l) => mem[l].inputBytes + mem[l].attnBytes)),
      others: Math.max(...ls.map((l) => mem[l].otherBytes)),
      fwd: Math.min(...ls.map((l) => layerTime[l].fwd)),
      recompute: rec,
    };
  });
  const alpha: Record<string, number> = {};
  const B = ctx.d2h;
  // Bandwidth bound per kind (MEMO's first constraint).
  const cap = new Map<string, number>();
  for (const k of kinds) {
    const a = k.others > 0 ? (B * k.fwd - k.mandatory) / k.others : 1;
    if (a < 0) notes.push(`${k.kind}: even the mandatory offload (input + attention output, ${gib(k.mandatory)}) takes ${(k.mandatory / B).toFixed(3)} s > forward ${k.fwd.toFixed(3)} s; alpha = 0 and the copy is exposed`);
    cap.set(k.kind, Math.min(1, Math.max(0, a)));
  }
  // CPU bound: mandatory copies first.
  const budget = ctx.cpuPerGpu;
  const mandatoryAll = kinds.reduce((s, k) => s + k.layers.length * k.mandatory, 0);
  const swapped = new Set<number>(swappable);
  if (mandatoryAll > budget) {
    // Fallback: swap only the first layers whose mandatory copies fit.
    swapped.clear();
    let used = 0;
    for (const l of swappable) {
      const m = mem[l].inputBytes + mem[l].attnBytes;
      if (used + m > budget) break;
      used += m;
      swapped.add(l);
    }
    notes.push(`CPU memory (${gib(budget)} per GPU) holds the mandatory copies of only ${swapped.size} of ${swappable.length} swappable layers; the rest use full recompute with inputs on the GPU`);
    for (const k of kinds) alpha[k.kind] = 0;
    return { alpha, swapped, notes, kinds };
  }
  let left = budget - mandatoryAll;
  const cpuLimited = new Set<string>();
  // Greedy by recompute seconds saved per CPU byte.
  for (const k of [...kinds].sort((a, b) => b.recompute / Math.max(1, b.others) - a.recompute / Math.max(1, a.others))) {
    const n = k.layers.length;
    const want = cap.get(k.kind)!;
    const a = n === 0 || k.others === 0 ? want : Math.min(want, left / (n * k.others));
    if (a < want) cpuLimited.add(k.kind);
    // Round down onto a 2^-20 grid (finer than any token count here), so the host copies never
    // exceed CPU memory through floating-point error when CPU memory is what limits alpha.
    alpha[k.kind] = Math.floor(Math.max(0, a) * 2 ** 20) / 2 ** 20;
    left -= n * k.others * alpha[k.kind];
  }
  // Decided before the rounding, which alone must not read as a CPU limit.
  for (const k of kinds)
    if (cpuLimited.has(k.kind)) notes.push(`${k.kind}: alpha limited to ${alpha[k.kind].toFixed(3)} by CPU memory (bandwidth allows ${cap.get(k.kind)!.toFixed(3)})`);
  return { alpha, swapped, notes, kinds };
}

const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;
