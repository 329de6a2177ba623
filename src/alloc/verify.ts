// Independent verifier: checks a layout against the problem without trusting any solver.
// Returns human-readable violations; an empty list means the layout is valid.
import { alignOf, type Buffer, type OffsetArray } from './types.js';

const MAX_REPORTED = 20;

export interface VerifyOptions {
  readonly capacity?: number;
}

/** Offsets given in problem order (array) or by id (map/record). */
export type OffsetsInput = OffsetArray | ReadonlyMap<string, number> | Readonly<Record<string, number>>;

export function verify(buffers: ReadonlyArray<Buffer>, offsetsIn: OffsetsInput, opts: VerifyOptions = {}): string[] {
  const out: string[] = [];
  const offsets = toArray(buffers, offsetsIn, out);
  const ids = new Set<string>();
  for (let i = 0; i < buffers.length; i++) {
    const b = buffers[i];
    const o = offsets[i];
    if (ids.has(b.id)) out.push(`duplicate buffer id '${b.id}'`);
    ids.add(b.id);
    if (Number.isNaN(o)) continue; // already reported as missing
    if (!Number.isSafeInteger(o) || o < 0) {
      out.push(`buffer '${b.id}': offset ${o} is not a non-negative integer`);
      continue;
    }
    const a = alignOf(b);
    if (o % a !== 0) out.push(`buffer '${b.id}': offset ${o} is not a multiple of its alignment ${a}`);
    if (b.fixedOffset !== undefined && o !== b.fixedOffset) {
      out.push(`buffer '${b.id}': pinned at ${b.fixedOffset} but placed at ${o}`);
    }
    if (opts.capacity !== undefined && b.size > 0 && o + b.size > opts.capacity) {
      out.push(`buffer '${b.id}': [${o}, ${o + b.size}) exceeds capacity ${opts.capacity}`);
    }
  }
  // Sweep by start time; an active list keeps this near O(n * live) instead of O(n^2).
  const order = buffers.map((_, i) => i).filter((i) => buffers[i].size > 0 && buffers[i].start < buffers[i].end);
  order.sort((x, y) => buffers[x].start - buffers[y].start);
  let active: number[] = [];
  for (const i of order) {
    const b = buffers[i];
    active = active.filter((j) => buffers[j].end > b.start);
    for (const j of active) {
      const c = buffers[j];
      const oi = offsets[i];
      const oj = offsets[j];
      if (oi < oj + c.size && oj < oi + b.size && out.length < 10 * MAX_REPORTED) {
        out.push(
          `buffers '${c.id}' [${oj}, ${oj + c.size}) t[${c.start}, ${c.end}) and '${b.id}' ` +
            `[${oi}, ${oi + b.size}) t[${b.start}, ${b.end}) overlap in time and bytes`,
        );
      }
    }
    active.push(i);
  }
  if (out.length > MAX_REPORTED) {
    const more = out.length - MAX_REPORTED;
    return [...out.slice(0, MAX_REPORTED), `... and ${more} more violations`];
  }
  return out;
}

function toArray(buffers: ReadonlyArray<Buffer>, o: OffsetsInput, out: string[]): number[] {
  if (Array.isArray(o)) {
    if (o.length !== buffers.length) out.push(`expected ${buffers.length} offsets, got ${o.length}`);
    return buffers.map((_, i) => (o as OffsetArray)[i]);
  }
  const get = o instanceof Map ? (id: string) => o.get(id) : (id: string) => (o as Record<string, number>)[id];
  return buffers.map((b) => {
    const v = get(b.id);
    if (v === undefined) out.push(`buffer '${b.id}' has no offset`);
    return v ?? Number.NaN;
  });
}
