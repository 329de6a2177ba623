// The memory timeline of a plan (`mc plan ... --timeline FILE.svg|FILE.html`): x is schedule time
// with one lane per stream (compute, D2H, H2D), y is the arena offset; every buffer is one
// rectangle coloured by kind, with the lower-bound and arena-peak lines and labelled layer
// boundaries. The HTML form embeds the same picture and adds hover details (name, size, lifetime,
// DSL line). Both are self-contained: no scripts or fonts from the network.
//
// The input is the JSON object `mc plan --json` prints once the allocator adds `buffers`; only
// `buffers` is required, every other key refines the picture when present.
import { writeFileSync } from 'node:fs';
import { renderTimelineHtml } from './timelineHtml.js';
import { renderTimelineSvg } from './timelineSvg.js';

export { renderTimelineHtml } from './timelineHtml.js';
export { renderTimelineSvg } from './timelineSvg.js';

/** One buffer of the plan's arena: `size` bytes at `offset`, live over [start, end). */
export interface PlanBuffer {
  readonly id: string;
  readonly offset: number;
  readonly size: number;
  readonly start: number;
  /** Exclusive, in the same unit as `start` (seconds, or schedule steps). */
  readonly end: number;
  /** weights, gradients, optimizer, skeletal, transient, swap staging, workspace (others are shown as they are). */
  readonly kind: string;
  /** The layer it belongs to: an index into the plan's `layers`, or a layer name. */
  readonly layer?: number | string | null;
  /** A readable name (tensor or weight name); `id` is shown when absent. */
  readonly name?: string;
  /** The DSL line it comes from, e.g. "examples/hunyuan-video/dit.mc:42". */
  readonly source?: string;
}

export type ScheduleEntry = readonly [op: string, start: number, end: number];

/** The keys of a plan the timeline reads (a structural subset of `mc plan --json`). */
export interface TimelinePlan {
  readonly buffers: readonly PlanBuffer[];
  readonly model?: string;
  readonly mode?: string;
  readonly hardware?: string;
  readonly gpus?: number;
  readonly strategy?: string;
  readonly capacityBytes?: number;
  readonly peakBytes?: number;
  readonly arenaBytes?: number;
  readonly lowerBoundBytes?: number;
  readonly fragmentation?: number;
  readonly cachingAllocatorBytes?: number;
  /** Stream name -> [op, startSec, endSec] entries, as `mc plan --json` prints them. */
  readonly schedule?: Readonly<Record<string, readonly ScheduleEntry[]>>;
  readonly layers?: readonly { readonly name: string }[];
}

export interface TimelineOptions {
  /** Picture width in px (default 1400); the height follows from the lanes and the arena area. */
  readonly width?: number;
  /** Height of the arena area in px (default 480). */
  readonly arenaHeight?: number;
  /** Overrides the first title line (default: model, mode, GPUs, hardware, strategy). */
  readonly title?: string;
  /**
   * The unit of buffer times. 'seconds': the schedule lanes are drawn as they are; 'steps': the
   * schedule is stretched linearly onto the steps. Default: seconds when the buffers end within 2%
   * of the schedule's end, else steps.
   */
  readonly timeUnit?: 'seconds' | 'steps';
}

/** A timeline that cannot be drawn (no buffers, unknown file extension); one line. */
export class TimelineError extends Error {}

/** The format a path asks for; throws TimelineError for anything but .svg and .html. Call it before planning to fail early. */
export function timelineFormat(path: string): 'svg' | 'html' {
  const m = /\.(svg|html?)$/i.exec(path);
  if (!m) throw new TimelineError(`--timeline expects a .svg or .html file, got '${path}'`);
  return m[1].toLowerCase() === 'svg' ? 'svg' : 'html';
}

/** Checks that a plan object (e.g. `planJson(plan)`) carries buffers the timeline can draw. */
export function asTimelinePlan(plan: object): TimelinePlan {
  const b = (plan as { buffers?: unknown }).buffers;
  if (!Array.isArray(b)) throw new TimelineError('the plan has no buffers to draw (the memory timeline needs the allocator\'s layout)');
  for (const [i, x] of b.entries()) {
    const o = x as Partial<PlanBuffer>;
    for (const k of ['offset', 'size', 'start', 'end'] as const)
      if (typeof o[k] !== 'number' || !Number.isFinite(o[k])) throw new TimelineError(`buffers[${i}].${k} is not a number`);
    if (typeof o.id !== 'string' || typeof o.kind !== 'string') throw new TimelineError(`buffers[${i}] needs a string id and kind`);
  }
  return plan as TimelinePlan;
}

/** The timeline as SVG or HTML text, chosen by the extension of `path` (nothing is written). */
export function renderTimeline(plan: object, path: string, opts: TimelineOptions = {}): string {
  const format = timelineFormat(path);
  const p = asTimelinePlan(plan);
  return format === 'svg' ? renderTimelineSvg(p, opts) : renderTimelineHtml(p, opts);
}

/** Writes the timeline as SVG or HTML, chosen by the extension of `path`. (`mc plan` renders with renderTimeline and writes with the CLI's writeOutput.) */
export function writeTimeline(plan: object, path: string, opts: TimelineOptions = {}): void {
  writeFileSync(path, renderTimeline(plan, path, opts));
}
