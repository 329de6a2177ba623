// One training iteration on three streams (MEMO §4.1/§4.3.4): compute, D2H (offload) and H2D
// (prefetch), ordered by events. Forward of swapped layer i+2 waits until layer i's offload
// freed rounding buffer i%2; layer i's offload starts when its forward ends. Backward of layer i
// waits for its prefetch, which starts when the backward of layer i+2 freed the buffer and
// overlaps the backward of layer i+1; the token-wise recompute runs just before the layer's
// backward. The last two swapped layers stay in the buffers. Waiting on an event is an exposed
// copy; a copy that never makes compute wait is hidden.
import type { StreamEntry } from './types.js';

export interface SchedLayer {
  readonly name: string;
  readonly fwd: number;
  readonly bwd: number;
  readonly recompute: number; // recomputed right before this layer's backward
  /** Position among swapped layers (rounding buffer = slot % 2), or -1 when not swapped. */
  readonly slot: number;
  readonly offloadSec: number; // D2H of the bytes this layer offloads (0: stays in its buffer)
  readonly prefetchSec: number; // H2D of the same bytes
}

export interface SchedResult {
  readonly endSec: number;
  readonly exposedFwd: readonly number[];
  readonly exposedBwd: readonly number[];
  readonly streams: Record<'compute' | 'd2h' | 'h2d', StreamEntry[]>;
}

export function simulate(layers: readonly SchedLayer[]): SchedResult {
  const streams: SchedResult['streams'] = { compute: [], d2h: [], h2d: [] };
  const n = layers.length;
  const exposedFwd = new Array<number>(n).fill(0);
  const exposedBwd = new Array<number>(n).fill(0);
  const offloadEnd = new Map<number, number>(); // slot -> end of its D2H
  let t = 0;
  let d2hFree = 0;
  for (let i = 0; i < n; i++) {
    const l = layers[i];
    // Rounding buffer slot%2 is free when the offload of slot-2 is done.
    const ready = l.slot >= 2 ? (offloadEnd.get(l.slot - 2) ?? 0) : 0;
    if (ready > t) { exposedFwd[i] = ready - t; t = ready; }
    streams.compute.push([`fwd ${l.name}`, t, t + l.fwd]);
    t += l.fwd;
    if (l.slot >= 0) {
      const s = Math.max(d2hFree, t);
      d2hFree = s + l.offloadSec;
      offloadEnd.set(l.slot, d2hFree);
      if (l.offloadSec > 0) streams.d2h.push([`offload ${l.name}`, s, d2hFree]);
    }
  }
  const bwdEnd = new Map<number, number>(); // slot -> end of its backward
  const prefetchEnd = new Map<number, number>();
  let h2dFree = 0;
  const bySlot = new Map<number, number>();
  layers.forEach((l, i) => { if (l.slot >= 0) bySlot.set(l.slot, i); });
  const startPrefetch = (slot: number): void => {
    const i = bySlot.get(slot);
    if (i === undefined || layers[i].prefetchSec <= 0) return;
    // Buffer slot%2 is free after the backward of slot+2 (or at once when nothing used it since).
    const s = Math.max(h2dFree, bwdEnd.get(slot + 2) ?? t);
    h2dFree = s + layers[i].prefetchSec;
    prefetchEnd.set(slot, h2dFree);
    streams.h2d.push([`prefetch ${layers[i].name}`, s, h2dFree]);
  };
  for (let i = n - 1; i >= 0; i--) {
    const l = layers[i];
    if (l.slot >= 0) {
      if (!prefetchEnd.has(l.slot)) startPrefetch(l.slot);
      const ready = prefetchEnd.get(l.slot) ?? 0;
      if (ready > t) { exposedBwd[i] = ready - t; t = ready; }
    }
    if (l.recompute > 0) { streams.compute.push([`recompute ${l.name}`, t, t + l.recompute]); t += l.recompute; }
    streams.compute.push([`bwd ${l.name}`, t, t + l.bwd]);
    t += l.bwd;
    if (l.slot >= 0) {
      bwdEnd.set(l.slot, t);
      // The buffer this backward freed takes the prefetch of slot-2, overlapping the next backward.
      if (l.slot >= 2) startPrefetch(l.slot - 2);
    }
  }
  return { endSec: t, exposedFwd, exposedBwd, streams };
}
