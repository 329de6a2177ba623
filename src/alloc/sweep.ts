// Sweep-line pre-pass for the search: sections, partitions and cuts.
// A section is the set of buffers live just before some buffer ends; only those instants matter,
// since a set of live buffers that is followed by a start (not an end) is a subset of the next one.
// A buffer covers a contiguous range of sections [secLo, secHi).

export interface Interval {
  readonly size: number;
  readonly start: number;
  readonly end: number;
}

export interface SweepResult {
  /** Buffers (indices into the input) of every section. */
  readonly sections: Int32Array[];
  readonly secLo: Int32Array;
  readonly secHi: Int32Array;
  /** Independent groups: no buffer of one is live at the same time as a buffer of another. */
  readonly partitions: Array<{ buffers: Int32Array; lo: number; hi: number }>;
  /** cuts[s]: number of buffers spanning both section s and section s + 1. */
  readonly cuts: Int32Array;
}

export function sweep(items: ReadonlyArray<Interval>): SweepResult {
  const n = items.length;
  // Points: ends sort before starts at the same time (half-open lifetimes).
  const pts: number[] = [];
  for (let i = 0; i < n; i++) pts.push(i * 2 + 1, i * 2);
  const time = (p: number) => ((p & 1) === 0 ? items[p >> 1].end : items[p >> 1].start);
  pts.sort((a, b) => time(a) - time(b) || (a & 1) - (b & 1) || (a >> 1) - (b >> 1));
  const sections: Int32Array[] = [];
  const secLo = new Int32Array(n);
  const secHi = new Int32Array(n);
  const partitions: Array<{ buffers: Int32Array; lo: number; hi: number }> = [];
  const active = new Set<number>();
  let current: number[] = [];
  let partLo = 0;
  let lastTime = -Infinity;
  for (const p of pts) {
    const i = p >> 1;
    const t = time(p);
    if ((p & 1) === 0) {
      if (lastTime < t) {
        lastTime = t;
        sections.push(Int32Array.from(active));
      }
      active.delete(i);
      secHi[i] = sections.length;
      if (active.size === 0) {
        partitions.push({ buffers: Int32Array.from(current), lo: partLo, hi: sections.length });
        partLo = sections.length;
        current = [];
      }
    } else {
      active.add(i);
      current.push(i);
      secLo[i] = sections.length;
    }
  }
  const cuts = new Int32Array(Math.max(0, sections.length - 1));
  for (let i = 0; i < n; i++) for (let s = secLo[i]; s + 1 < secHi[i]; s++) cuts[s]++;
  return { sections, secLo, secHi, partitions, cuts };
}
