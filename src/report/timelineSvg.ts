// Draws the memory timeline as one SVG string. Layout, top to bottom: two title lines, one lane
// per schedule stream, a band of layer labels, the arena (y = offset, 0 at the bottom) with one
// <rect class="b"> per buffer, the x axis; the legend sits on the right. Thousands of buffers stay
// legible because tiny rectangles lose their edge stroke and are drawn at least 0.6 px wide, so a
// run of small transients reads as one band of colour while each keeps its own element.
import type { PlanBuffer, ScheduleEntry, TimelineOptions, TimelinePlan } from './timeline.js';
import { KINDS, byteTicks, canonicalKind, esc, human, kindColor, n1, niceTicks } from './svg.js';

const LANE_COLORS: Record<string, string> = {
  fwd: '#a6cee3', bwd: '#1f78b4', recompute: '#fb9a99', optimizer: '#cab2d6', offload: '#fdbf6f', prefetch: '#b2df8a', weights: '#b2df8a',
};
const STREAM_ORDER = ['compute', 'd2h', 'h2d'];
const STREAM_LABEL: Record<string, string> = { compute: 'compute', d2h: 'D2H', h2d: 'H2D' };

/** What the HTML hover shows for buffer i (the SVG puts the same text in a <title>). */
export interface HoverRecord {
  readonly name: string;
  readonly kind: string;
  readonly size: string;
  readonly life: string;
  readonly offset: string;
  readonly layer?: string;
  readonly source?: string;
}

interface Stats { top: number; lowerBound: number; live: [number, number][] }

/** Arena top, the max live bytes (no layout can beat it) and the live-bytes step curve. */
function stats(bufs: readonly PlanBuffer[]): Stats {
  const ev: [number, number][] = [];
  let top = 0;
  for (const b of bufs) {
    top = Math.max(top, b.offset + b.size);
    if (b.end > b.start) ev.push([b.start, b.size], [b.end, -b.size]);
  }
  ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]); // frees before allocations at the same instant
  let cur = 0, lowerBound = 0;
  const live: [number, number][] = [];
  for (const [t, d] of ev) {
    cur += d;
    lowerBound = Math.max(lowerBound, cur);
    if (live.length && live[live.length - 1][0] === t) live[live.length - 1][1] = cur;
    else live.push([t, cur]);
  }
  return { top, lowerBound, live };
}

const fmtTime = (t: number, unit: string): string => (unit === 'seconds' ? `${Number(t.toPrecision(4))} s` : `step ${Number(t.toPrecision(6))}`);

export function layerName(plan: TimelinePlan, layer: PlanBuffer['layer']): string | undefined {
  if (layer === undefined || layer === null) return undefined;
  if (typeof layer === 'number') return plan.layers?.[layer]?.name ?? `#${layer}`;
  return layer;
}

export function hoverRecords(plan: TimelinePlan, unit: string): HoverRecord[] {
  return plan.buffers.map((b) => ({
    name: b.name ?? b.id, kind: canonicalKind(b.kind), size: `${human(b.size)} (${b.size.toLocaleString('en-US')} B)`,
    life: `${fmtTime(b.start, unit)} to ${fmtTime(b.end, unit)} (${fmtTime(b.end - b.start, unit)})`,
    offset: `${human(b.offset)} to ${human(b.offset + b.size)}`, layer: layerName(plan, b.layer), source: b.source,
  }));
}

function timeUnit(plan: TimelinePlan, tMax: number, sMax: number, opts: TimelineOptions): 'seconds' | 'steps' {
  if (opts.timeUnit) return opts.timeUnit;
  return sMax > 0 && Math.abs(tMax - sMax) <= 0.02 * sMax ? 'seconds' : sMax > 0 ? 'steps' : 'seconds';
}

/** The SVG; with `interactive`, rectangles carry data-i for the HTML hover instead of <title>s. */
export function timelineSvg(plan: TimelinePlan, opts: TimelineOptions = {}, interactive = false): { svg: string; unit: 'seconds' | 'steps' } {
  const bufs = plan.buffers;
  const W = opts.width ?? 1400, AH = opts.arenaHeight ?? 480;
  const L = 84, R = 200; // left axis, right legend
  const x0 = L, x1 = W - R;
  const streams = Object.keys(plan.schedule ?? {}).filter((s) => (plan.schedule?.[s].length ?? 0) > 0)
    .sort((a, b) => (STREAM_ORDER.indexOf(a) + 1 || 99) - (STREAM_ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b));
  const sMax = Math.max(0, ...streams.flatMap((s) => plan.schedule![s].map((e) => e[2])));
  const st = stats(bufs);
  const tMaxBuf = Math.max(0, ...bufs.map((b) => b.end));
  const unit = timeUnit(plan, tMaxBuf, sMax, opts);
  const tMax = Math.max(tMaxBuf, unit === 'seconds' ? sMax : 0) || 1;
  const sched = (t: number): number => (unit === 'seconds' || sMax === 0 ? t : (t * tMax) / sMax); // schedule time -> buffer time
  const X = (t: number): number => x0 + ((x1 - x0) * t) / tMax;

  const laneY0 = 52, laneH = 14, laneGap = 3;
  const labelY0 = laneY0 + streams.length * (laneH + laneGap) + 4;
  const arenaY0 = labelY0 + 30, arenaY1 = arenaY0 + AH;
  const arena = Math.max(plan.arenaBytes ?? 0, st.top);
  const lower = plan.lowerBoundBytes ?? st.lowerBound;
  const cap = plan.capacityBytes;
  const showCap = cap !== undefined && cap > 0 && cap <= 1.6 * Math.max(arena, 1);
  const top = Math.max(arena, lower, showCap ? cap : 0, 1);
  const scale = yScale(bufs, top, arenaY0, arenaY1);
  const Y = scale.Y;
  const H = arenaY1 + 56;
  const out: string[] = [];
  const push = (s: string): void => { out.push(s); };

  // Title and summary.
  const what = opts.title ?? [plan.model ?? 'plan', plan.mode ? `${plan.mode === 'infer' ? 'inference' : 'training'}` : '',
    plan.gpus && plan.hardware ? `on ${plan.gpus} x ${plan.hardware}` : plan.hardware ?? '', plan.strategy ? `(${plan.strategy})` : ''].filter(Boolean).join(' ');
  const frag = plan.fragmentation ?? (lower > 0 ? arena / lower - 1 : 0);
  const summary = [`arena ${human(arena)}`, `lower bound ${human(lower)}`, `fragmentation ${(100 * frag).toFixed(1)}%`, `${bufs.length} buffers`,
    plan.cachingAllocatorBytes !== undefined ? `caching allocator ${human(plan.cachingAllocatorBytes)}` : '',
    cap !== undefined ? `GPU memory ${human(cap)}` : ''].filter(Boolean).join(' · ');
  push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="11">`);
  const kinds = [...new Set(bufs.map((b) => canonicalKind(b.kind)))];
  const known = KINDS.map((k) => k.kind);
  const others = kinds.filter((k) => !known.includes(k)).sort();
  const legendKinds = [...known.filter((k) => kinds.includes(k)), ...others];
  const cls = new Map(legendKinds.map((k, i) => [k, `k${i}`]));
  push('<style>.b{shape-rendering:crispEdges}.e{stroke:#fff;stroke-width:0.4}.op{stroke:#fff;stroke-width:0.3}.lb{fill:#555;font-size:9px}'
    + legendKinds.map((k) => `.${cls.get(k)}{fill:${kindColor(k, others)}}`).join('') + (interactive ? '.b:hover,.op:hover{stroke:#000;stroke-width:1}' : '') + '</style>');
  push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`);
  push(`<text x="${L}" y="20" font-size="14" font-weight="600">${esc(`Memory timeline: ${what}`)}</text>`);
  push(`<text x="${L}" y="38" fill="#333">${esc(summary)}</text>`);

  // Stream lanes.
  streams.forEach((s, i) => {
    const y = laneY0 + i * (laneH + laneGap);
    push(`<text x="${L - 6}" y="${y + 10}" text-anchor="end">${esc(STREAM_LABEL[s] ?? s)}</text>`);
    push(`<rect x="${x0}" y="${y}" width="${n1(x1 - x0)}" height="${laneH}" fill="#f3f3f3"/>`);
    for (const [op, a, b] of plan.schedule![s]) {
      const xa = X(sched(a)), w = Math.max(0.6, X(sched(b)) - xa);
      const color = LANE_COLORS[op.split(' ')[0]] ?? '#ccc';
      const label = `${op}: ${fmtTime(a, 'seconds')} to ${fmtTime(b, 'seconds')}`;
      push(interactive ? `<rect class="op" x="${n1(xa)}" y="${y}" width="${n1(w)}" height="${laneH}" fill="${color}" data-t="${esc(label)}"/>`
        : `<rect class="op" x="${n1(xa)}" y="${y}" width="${n1(w)}" height="${laneH}" fill="${color}"><title>${esc(label)}</title></rect>`);
    }
  });

  // Layer boundaries: each compute entry's start (or each layer's first buffer without a schedule).
  const bounds = layerBounds(plan, sched);
  const rows = [-Infinity, -Infinity];
  for (const { t, name, strong } of bounds) {
    const x = X(t);
    push(`<line x1="${n1(x)}" y1="${labelY0}" x2="${n1(x)}" y2="${arenaY1}" stroke="${strong ? '#444' : '#ddd'}" stroke-width="${strong ? 1 : 0.5}"${strong ? ' stroke-dasharray="4 3"' : ''}/>`);
    const w = name.length * 5.2 + 6;
    const row = strong ? 0 : rows.findIndex((r) => x >= r);
    if (row < 0) continue;
    rows[row] = x + w;
    push(`<text class="lb" x="${n1(x + 2)}" y="${labelY0 + 10 + 12 * row}"${strong ? ' font-weight="600"' : ''}>${esc(name)}</text>`);
  }

  // Arena: axes, buffers, live-bytes curve, lower-bound / peak / capacity lines.
  push(`<rect x="${x0}" y="${arenaY0}" width="${n1(x1 - x0)}" height="${AH}" fill="none" stroke="#999" stroke-width="0.5"/>`);
  let lastTick = Infinity;
  for (const { value, label } of scale.ticks) {
    const y = Y(value);
    if (Math.abs(lastTick - y) < 13) continue;
    lastTick = y;
    push(`<line x1="${x0 - 4}" y1="${n1(y)}" x2="${x0}" y2="${n1(y)}" stroke="#999"/><text x="${x0 - 6}" y="${n1(y + 3)}" text-anchor="end" fill="#333">${label}</text>`);
  }
  for (const [a, b] of scale.compressed) {
    push(`<rect x="${x0 - 3}" y="${n1(Y(b))}" width="3" height="${n1(Y(a) - Y(b))}" fill="#bbb"><title>offsets ${esc(human(a))} to ${esc(human(b))} hold buffers live for the whole step; scale compressed</title></rect>`);
  }
  push(`<text transform="translate(14 ${n1((arenaY0 + arenaY1) / 2)}) rotate(-90)" text-anchor="middle" fill="#333">arena offset</text>`);
  for (const v of niceTicks(tMax, 10)) {
    if (v > tMax) continue;
    push(`<line x1="${n1(X(v))}" y1="${arenaY1}" x2="${n1(X(v))}" y2="${arenaY1 + 4}" stroke="#999"/><text x="${n1(X(v))}" y="${arenaY1 + 16}" text-anchor="middle" fill="#333">${unit === 'seconds' ? `${v} s` : v}</text>`);
  }
  push(`<text x="${n1((x0 + x1) / 2)}" y="${arenaY1 + 34}" text-anchor="middle" fill="#333">${unit === 'seconds' ? 'schedule time (s)' : 'schedule step (stream lanes stretched to fit)'}</text>`);
  push('<g>');
  bufs.forEach((b, i) => {
    const xa = X(b.start), w = Math.max(0.6, X(b.end) - xa);
    const ya = Y(b.offset + b.size), h = Math.max(0.6, Y(b.offset) - ya);
    const k = cls.get(canonicalKind(b.kind));
    const c = `b ${k}${w >= 3 && h >= 3 ? ' e' : ''}`;
    const geo = `x="${n1(xa)}" y="${n1(ya)}" width="${n1(w)}" height="${n1(h)}"`;
    if (interactive) push(`<rect class="${c}" ${geo} data-i="${i}"/>`);
    else push(`<rect class="${c}" ${geo}><title>${esc(`${b.name ?? b.id} (${canonicalKind(b.kind)}, ${human(b.size)}, ${fmtTime(b.start, unit)} to ${fmtTime(b.end, unit)}${b.source ? `, ${b.source}` : ''})`)}</title></rect>`);
  });
  push('</g>');
  push(`<polyline fill="none" stroke="#222" stroke-width="0.8" stroke-opacity="0.7" points="${liveCurve(st.live, X, Y)}"/>`);
  const lines: [number, string, string, string][] = [[arena, `arena peak ${human(arena)}`, '#000', ''], [lower, `lower bound ${human(lower)}`, '#d62728', '6 3']];
  if (showCap) lines.push([cap, `GPU memory ${human(cap)}`, '#888', '2 2']);
  lines.forEach(([v, label, color, dash], i) => {
    const y = Y(v);
    push(`<line x1="${x0}" y1="${n1(y)}" x2="${x1}" y2="${n1(y)}" stroke="${color}" stroke-width="1.2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    push(`<text x="${x1 + 4}" y="${n1(y + 3 + (i === 1 && Math.abs(Y(arena) - y) < 12 ? 10 : 0))}" fill="${color}" font-size="10">${esc(label)}</text>`);
  });

  // Legend.
  const lx = x1 + 8;
  let ly = Math.max(arenaY0 + 60, arenaY1 - 18 * (legendKinds.length + 2) - 10); // bottom-aligned, clear of the line labels
  push(`<text x="${lx}" y="${ly}" font-weight="600">buffer kind</text>`);
  for (const k of legendKinds) {
    ly += 18;
    const n = bufs.filter((b) => canonicalKind(b.kind) === k);
    push(`<rect x="${lx}" y="${ly - 9}" width="12" height="12" class="${cls.get(k)}"/><text x="${lx + 18}" y="${ly + 1}">${esc(`${k} (${n.length})`)}</text>`);
  }
  ly += 24;
  push(`<line x1="${lx}" y1="${ly}" x2="${lx + 14}" y2="${ly}" stroke="#222"/><text x="${lx + 18}" y="${ly + 3}">live bytes</text>`);
  const note = scale.compressed.length ? '; grey bars on the offset axis mark ranges held for the whole step, drawn compressed' : '';
  push(`<text x="${L}" y="${H - 6}" fill="#777" font-size="9">${esc(`mc memory timeline: ${bufs.length} buffers, one rectangle each; hover for details${note}`)}</text>`);
  push('</svg>');
  return { svg: out.join('\n'), unit };
}

interface YScale { Y: (bytes: number) => number; ticks: { value: number; label: string }[]; compressed: [number, number][] }

/**
 * Offset -> pixel. Offset ranges held by buffers live over the whole step (weights, optimizer
 * states, staging buffers) say little over time, yet can fill most of the arena; when they are
 * over half of it they share at most a quarter of the height, and the rest goes to the ranges
 * whose contents change. Piecewise linear, so every rectangle keeps its order and adjacency.
 */
function yScale(bufs: readonly PlanBuffer[], top: number, y0: number, y1: number): YScale {
  let yMax = top * 1.04;
  const t0 = Math.min(...bufs.map((b) => b.start)), t1 = Math.max(...bufs.map((b) => b.end));
  const resident = bufs.filter((b) => b.start <= t0 && b.end >= t1 && b.size > 0).map((b) => [b.offset, b.offset + b.size]).sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [a, b] of resident) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1] + 0.002 * yMax) last[1] = Math.max(last[1], b); else merged.push([a, b]); // bridge alignment gaps
  }
  const big = merged.filter(([a, b]) => b - a >= 0.02 * yMax);
  const S = big.reduce((s, [a, b]) => s + b - a, 0);
  const linear = (): YScale => ({ Y: (v) => y1 - ((y1 - y0) * v) / yMax, ticks: byteTicks(yMax), compressed: [] });
  if (bufs.length === 0 || S <= 0.5 * yMax) return linear();
  const share = 0.25;
  yMax = top + 0.04 * (top - big[big.length - 1][1] > 0 ? top - big[big.length - 1][1] : top); // headroom of the changing part
  const segs: { a: number; b: number; px: number }[] = [];
  let at = 0;
  for (const [a, b] of big) {
    if (a > at) segs.push({ a: at, b: a, px: ((1 - share) * (y1 - y0) * (a - at)) / (yMax - S) });
    segs.push({ a, b, px: (share * (y1 - y0) * (b - a)) / S });
    at = b;
  }
  if (yMax > at) segs.push({ a: at, b: yMax, px: ((1 - share) * (y1 - y0) * (yMax - at)) / (yMax - S) });
  const Y = (v: number): number => {
    let y = y1;
    for (const s of segs) {
      if (v >= s.b) { y -= s.px; continue; }
      return y - (s.px * Math.max(0, v - s.a)) / (s.b - s.a);
    }
    return y;
  };
  const ticks = [...new Set(segs.flatMap((s) => [s.a, s.b]))].sort((a, b) => a - b).map((v) => ({ value: v, label: human(v) }));
  return { Y, ticks, compressed: big };
}

/** The live-bytes step curve, at most three points per pixel column (entry, max, exit). */
function liveCurve(live: readonly [number, number][], X: (t: number) => number, Y: (b: number) => number): string {
  const cols: [x: number, enter: number, max: number, exit: number][] = [];
  let prev = 0;
  for (const [t, v] of live) {
    const x = Math.round(X(t) * 2) / 2;
    const c = cols[cols.length - 1];
    if (c && c[0] === x) { c[2] = Math.max(c[2], v); c[3] = v; } else cols.push([x, prev, Math.max(prev, v), v]);
    prev = v;
  }
  const pts: string[] = [];
  for (const [x, a, m, b] of cols) for (const v of m > a && m > b ? [a, m, b] : [a, b]) {
    const p = `${x},${n1(Y(v))}`;
    if (p !== pts[pts.length - 1]) pts.push(p);
  }
  return pts.join(' ');
}

function layerBounds(plan: TimelinePlan, sched: (t: number) => number): { t: number; name: string; strong: boolean }[] {
  const compute = plan.schedule?.compute as readonly ScheduleEntry[] | undefined;
  if (compute && compute.length > 0) {
    const out: { t: number; name: string; strong: boolean }[] = [];
    let phase = '';
    for (const [op, a] of compute) {
      const [verb, ...rest] = op.split(' ');
      if (verb === 'recompute') continue; // drawn in the lane; the layer's boundary is its backward
      const strong = verb !== phase && phase !== '';
      out.push({ t: sched(a), name: strong ? `${verb} ${rest.join(' ')}`.trim() : rest.join(' ') || verb, strong });
      phase = verb;
    }
    return out;
  }
  const first = new Map<string, number>();
  for (const b of plan.buffers) {
    const name = layerName(plan, b.layer);
    if (name !== undefined && b.start < (first.get(name) ?? Infinity)) first.set(name, b.start);
  }
  return [...first].sort((a, b) => a[1] - b[1]).map(([name, t]) => ({ t, name, strong: false }));
}

export function renderTimelineSvg(plan: TimelinePlan, opts: TimelineOptions = {}): string {
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + timelineSvg(plan, opts, false).svg + '\n';
}
