// Seeded random traces for tests and scaling experiments (not part of the public interface).
import type { Buffer } from './types.js';

/** mulberry32: tiny deterministic PRNG so failures replay exactly. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface TraceOpts {
  readonly maxBuffers?: number;
  readonly horizon?: number;
  readonly maxSize?: number;
  readonly alignProb?: number;
  readonly pinProb?: number;
}

export function randomTrace(seed: number, o: TraceOpts = {}): Buffer[] {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const n = int(2, o.maxBuffers ?? 12);
  const horizon = o.horizon ?? 10;
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const start = int(0, horizon - 1);
    const end = int(start + 1, horizon);
    const size = r() < 0.05 ? 0 : int(1, o.maxSize ?? 16);
    const align = r() < (o.alignProb ?? 0.15) ? [2, 4, 8][int(0, 2)] : undefined;
    out.push({ id: `b${i}`, size, start, end, ...(align ? { align } : {}) });
  }
  // At most one pinned buffer, so pinned buffers never conflict with each other.
  if (r() < (o.pinProb ?? 0.1)) {
    const k = int(0, n - 1);
    const a = out[k].align ?? 1;
    out[k] = { ...out[k], fixedOffset: a * int(0, 4) };
  }
  return out;
}
