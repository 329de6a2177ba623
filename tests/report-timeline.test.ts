// The memory timeline (issue 7): SVG and HTML for the HunyuanVideo training plan, checked for
// well-formedness and one rectangle per buffer. Until the allocator puts `buffers` in the plan,
// the buffers are synthetic: built from the real plan's schedule and breakdown (weights,
// gradients, optimizer per layer, a skeletal set per layer, ~30 transients per compute entry,
// two swap staging buffers) and placed by the greedy allocator. The real plan's buffers are
// checked too when present. MC_TIMELINE_OUT=dir writes the files for a look.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from './helpers.js';
import { greedy } from '../src/alloc/index.js';
import { loadProfile } from '../src/hw/profile.js';
import { planArena } from '../src/plan/arena.js';
import { planJson } from '../src/plan/format.js';
import { planTraining } from '../src/plan/plan.js';
import {
  type PlanBuffer, type TimelinePlan, TimelineError, asTimelinePlan, renderTimelineHtml, renderTimelineSvg, timelineFormat, writeTimeline,
} from '../src/report/timeline.js';

/** A small XML well-formedness checker: balanced tags, quoted attributes, escaped text. */
export function xmlErrors(text: string): string[] {
  const errs: string[] = [];
  const stack: string[] = [];
  const body = text.replace(/^<\?xml[^?]*\?>/, '').replace(/<!--[\s\S]*?-->/g, '');
  const re = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body)) !== null && errs.length < 5) {
    if (m[0] === '<' || m[0] === '&') { errs.push(`stray '${m[0]}' at ${m.index}: ${body.slice(m.index, m.index + 40)}`); continue; }
    const [, close, name, , self] = m;
    if (close) { if (stack.pop() !== name) errs.push(`</${name}> at ${m.index} closes the wrong element`); }
    else if (!self) stack.push(name);
  }
  if (stack.length) errs.push(`unclosed: ${stack.slice(-3).join(', ')}`);
  return errs;
}

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Buffers a planner could produce for `plan`, placed by the greedy allocator. */
function syntheticBuffers(plan: TimelinePlan): PlanBuffer[] {
  const { breakdown } = plan as unknown as { breakdown: Record<string, number> };
  const layers = plan.layers as { name: string; skeletalBytes: number }[];
  const compute = plan.schedule!.compute;
  const T = Math.max(...compute.map((e) => e[2]));
  const nl = layers.length;
  const r = rng(7);
  const raw: Omit<PlanBuffer, 'offset'>[] = [];
  const add = (b: Omit<PlanBuffer, 'offset'>): void => { if (b.size > 0 && b.end > b.start) raw.push(b); };
  const when = (verb: string, layer: string): readonly [string, number, number] | undefined => compute.find((e) => e[0] === `${verb} ${layer}`);
  layers.forEach((l, i) => {
    for (const kind of ['weights', 'gradients', 'optimizer'])
      add({ id: `${kind}.${l.name}`, name: `${l.name} ${kind}`, kind, size: Math.round(breakdown[kind] / nl), start: 0, end: T, layer: i });
    const f = when('fwd', l.name), b = when('bwd', l.name);
    if (f && b) add({ id: `skel.${l.name}`, name: `${l.name} skeletal`, kind: 'skeletal', size: Math.max(4096, Math.round(l.skeletalBytes / 4)), start: f[1], end: b[2], layer: i });
  });
  compute.forEach(([op, a, b], j) => {
    const layer = op.split(' ').slice(1).join(' ');
    for (let k = 0; k < 30; k++) {
      const s = a + (b - a) * r() * 0.8;
      add({ id: `t${j}.${k}`, name: `${op} tmp${k}`, kind: 'transient', size: Math.round(breakdown.transient * 0.2 * r() ** 3) + 256,
        start: s, end: s + (b - a) * (0.05 + 0.3 * r()), layer, source: `examples/hunyuan-video/dit.mc:${40 + (k % 60)}` });
    }
  });
  for (const k of [0, 1]) add({ id: `swap${k}`, name: `rounding buffer ${k}`, kind: 'swap staging', size: Math.round(breakdown.swapBuffers / 2), start: 0, end: T });
  const { offsets } = greedy(raw);
  return raw.map((b, i) => ({ ...b, offset: offsets[i] }));
}

/** The plan `mc plan dit.mc --hw h100-sxm --gpus 8 --ulysses 8 --zero 3 --json` prints, with its arena (greedy layout). */
async function hunyuanTrainingPlan(): Promise<TimelinePlan> {
  const p = planTraining(load('examples/hunyuan-video/dit.mc'), loadProfile('h100-sxm'), { tp: 1, sp: false, ulysses: 8, cp: 1, dp: 1, zero: 3 }, 'auto');
  if ('error' in p) throw new Error(p.error);
  return { ...(planJson(p, await planArena(p, { solver: 'greedy' })) as TimelinePlan), model: 'hunyuan-video-dit' };
}

const rects = (s: string): number => (s.match(/<rect class="b /g) ?? []).length;

describe('memory timeline', () => {
  let real: TimelinePlan, plan: TimelinePlan;
  beforeAll(async () => {
    real = await hunyuanTrainingPlan();
    const { arenaBytes: _a, lowerBoundBytes: _l, fragmentation: _f, cachingAllocatorBytes: _c, ...analytic } = real;
    plan = { ...analytic, buffers: syntheticBuffers(real) };
  });
  const out = process.env.MC_TIMELINE_OUT;

  it('draws the HunyuanVideo training plan as well-formed SVG, one rectangle per buffer', () => {
    expect(plan.buffers.length).toBeGreaterThan(4000);
    const svg = renderTimelineSvg(plan);
    if (out) writeFileSync(join(out, 'timeline.svg'), svg);
    expect(xmlErrors(svg)).toEqual([]);
    expect(rects(svg)).toBe(plan.buffers.length);
    expect((svg.match(/<title>/g) ?? []).length).toBeGreaterThanOrEqual(plan.buffers.length);
    for (const s of ['lower bound', 'arena peak', 'compute', 'D2H', 'H2D', 'double_blocks.0', 'skeletal', 'swap staging', 'bwd'])
      expect(svg).toContain(s);
    expect(svg).not.toMatch(/(?:href|src)=|@import|url\(/); // self-contained
    expect(svg.length).toBeLessThan(3e6);
  });

  it('draws it as self-contained HTML with hover data for every buffer', () => {
    const html = renderTimelineHtml(plan);
    if (out) writeFileSync(join(out, 'timeline.html'), html);
    const svg = html.slice(html.indexOf('<svg'), html.indexOf('</svg>') + 6);
    expect(xmlErrors(svg)).toEqual([]);
    expect(rects(svg)).toBe(plan.buffers.length);
    const data = JSON.parse(/<script type="application\/json" id="mc-buffers">([\s\S]*?)<\/script>/.exec(html)![1]) as { name: string; source?: string; life: string }[];
    expect(data).toHaveLength(plan.buffers.length);
    expect(data[data.length - 1].name).toBe('rounding buffer 1');
    expect(data.some((d) => d.source?.startsWith('examples/hunyuan-video/dit.mc:'))).toBe(true);
    expect(new Set([...svg.matchAll(/data-i="(\d+)"/g)].map((m) => m[1])).size).toBe(plan.buffers.length);
    expect(html).not.toMatch(/<(?:link|img|iframe)\b|<script\s+src|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    for (const tag of ['html', 'head', 'body', 'script', 'style']) expect((html.match(new RegExp(`<${tag}[ >]`, 'g')) ?? []).length).toBe((html.match(new RegExp(`</${tag}>`, 'g')) ?? []).length);
  });

  it('escapes names, computes the lower bound itself and labels layers from buffers without a schedule', () => {
    const bufs: PlanBuffer[] = [
      { id: 'a', name: 'x<y & "z"', kind: 'weights', offset: 0, size: 100, start: 0, end: 10, layer: 0 },
      { id: 'b', kind: 'transient', offset: 100, size: 50, start: 0, end: 4, layer: 'blk.1' },
      { id: 'c', kind: 'transient', offset: 150, size: 50, start: 5, end: 10, layer: 'blk.2', source: 'm.mc:3</script>' },
      { id: 'd', kind: 'mystery', offset: 100, size: 10, start: 4, end: 5 },
    ];
    const p: TimelinePlan = { buffers: bufs, layers: [{ name: 'embed' }] };
    const svg = renderTimelineSvg(p);
    expect(xmlErrors(svg)).toEqual([]);
    expect(rects(svg)).toBe(4);
    expect(svg).toContain('x&lt;y &amp; &quot;z&quot;');
    expect(svg).toContain('lower bound 150 B'); // live: 150 over [0,4), 110 at 4, 150 over [5,10)
    expect(svg).toContain('arena peak 200 B');
    expect(svg).toContain('fragmentation 33.3%');
    for (const l of ['embed', 'blk.1', 'blk.2', 'mystery (1)']) expect(svg).toContain(l);
    const html = renderTimelineHtml(p);
    expect(html).not.toContain('3</script>');
    expect(rects(html)).toBe(4);
  });

  it('chooses the format by extension and names what is missing', () => {
    expect(timelineFormat('a/t.SVG')).toBe('svg');
    expect(timelineFormat('t.html')).toBe('html');
    expect(() => timelineFormat('t.png')).toThrow(TimelineError);
    expect(() => asTimelinePlan({ mode: 'train' })).toThrow(/no buffers/);
    expect(() => asTimelinePlan({ buffers: [{ id: 'a', kind: 'x', offset: 0, size: '1', start: 0, end: 1 }] })).toThrow('buffers[0].size is not a number');
    const dir = mkdtempSync(join(tmpdir(), 'mc-tl-'));
    writeTimeline({ buffers: [{ id: 'a', kind: 'weights', offset: 0, size: 8, start: 0, end: 1 }] }, join(dir, 't.html'));
    expect(readFileSync(join(dir, 't.html'), 'utf8')).toMatch(/^<!DOCTYPE html>/);
  });

  it('draws the real plan\'s arena (the allocator\'s buffers)', () => {
    const b = real.buffers;
    expect(b.length).toBeGreaterThan(1000);
    const svg = renderTimelineSvg(asTimelinePlan(real));
    if (out) writeFileSync(join(out, 'real.svg'), svg);
    if (out) writeFileSync(join(out, 'real.html'), renderTimelineHtml(real));
    expect(xmlErrors(svg)).toEqual([]);
    expect(rects(svg)).toBe(b.length);
    expect(rects(renderTimelineHtml(asTimelinePlan(real)))).toBe(b.length);
  });
});
