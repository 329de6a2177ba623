// Budgets against a plan: one verdict per limit, with the value, the limit and the margin
// (positive = headroom). Memory is the plan's peak per GPU, or its arena when the allocator
// reports one and it is larger (the arena is what a run reserves); it is capped by the GPU's
// usable memory, so a check with no --max-memory still requires the plan to fit.
import type { HardwareProfile } from '../hw/profile.js';
import type { Limits } from './budget.js';
import { gib, pct, pctDigits, secs, sizeIn } from './units.js';

/** The keys of `mc plan --json` that checks read (schemas/plan.schema.json has them all). */
export interface PlanJson {
  readonly mode: 'train' | 'infer';
  readonly hardware: string;
  readonly gpus: number;
  readonly capacityBytes: number;
  readonly fits: boolean;
  readonly peakBytes: number;
  readonly mfu: number;
  readonly stepTimeSec: number;
  readonly strategy: string;
  readonly cpuBytesPerNode?: number;
  readonly arenaBytes?: number;
  readonly [key: string]: unknown;
}

export type BudgetName = 'memory' | 'host-memory' | 'mfu' | 'step-time';

export interface Verdict {
  readonly budget: BudgetName;
  readonly pass: boolean;
  readonly value: number;
  readonly limit: number;
  /** limit - value for a maximum, value - limit for a minimum: negative when failing. */
  readonly margin: number;
  /** "59.70 GiB <= 80.00 GiB (usable GPU memory), margin 20.30 GiB (25.4%)". */
  readonly text: string;
  /** The parts of `text`, for tables: "59.70 GiB", "80.00 GiB (usable GPU memory)", "margin 20.30 GiB (25.4%)". */
  readonly cells: readonly [value: string, limit: string, margin: string];
}

function verdict(budget: BudgetName, pass: boolean, value: number, limit: number, margin: number, op: string, cells: Verdict['cells']): Verdict {
  return { budget, pass, value, limit, margin, text: `${cells[0]} ${op} ${cells[1]}, ${cells[2]}`, cells };
}

export function memoryOf(p: PlanJson): number {
  return Math.max(p.peakBytes, p.arenaBytes ?? 0);
}

function maxVerdict(budget: BudgetName, value: number, limit: number, fmt: (x: number) => string, note = ''): Verdict {
  const pass = value <= limit;
  const margin = limit - value;
  const rel = limit > 0 ? ` (${(100 * Math.abs(margin) / limit).toFixed(1)}%)` : '';
  return verdict(budget, pass, value, limit, margin, pass ? '<=' : '>', [fmt(value), `${fmt(limit)}${note}`, `${pass ? 'margin' : 'over by'} ${fmt(Math.abs(margin))}${rel}`]);
}

export function evaluate(p: PlanJson, limits: Limits, hw: HardwareProfile): Verdict[] {
  const out: Verdict[] = [];
  const cap = p.capacityBytes;
  const mem = limits.maxMemoryBytes;
  const note = mem === undefined ? ' (usable GPU memory)' : mem > cap ? ' (usable GPU memory, below the budget)' : '';
  const limit = Math.min(mem ?? cap, cap);
  out.push(maxVerdict('memory', memoryOf(p), limit, sizeIn(memoryOf(p), limit), note));
  // Host copies: MEMO's offloaded activations (train) or the pinned streamed weights (infer).
  if ((p.cpuBytesPerNode ?? 0) > 0)
    out.push(maxVerdict('host-memory', p.cpuBytesPerNode ?? 0, hw.node.cpuMemoryBytes, gib, ' per node'));
  if (limits.minMfu !== undefined) {
    const pass = p.mfu >= limits.minMfu;
    const d = 100 * (p.mfu - limits.minMfu);
    const k = pctDigits(p.mfu, limits.minMfu);
    out.push(verdict('mfu', pass, p.mfu, limits.minMfu, p.mfu - limits.minMfu, pass ? '>=' : '<',
      [pct(p.mfu, k), pct(limits.minMfu, k), `${pass ? 'margin' : 'short by'} ${Math.abs(d).toFixed(k)} points`]));
  }
  if (limits.maxStepTimeSec !== undefined) out.push(maxVerdict('step-time', p.stepTimeSec, limits.maxStepTimeSec, secs));
  return out;
}

/** `PASS  name  memory     text`: one line per verdict, aligned by the caller's name width. */
export function verdictLine(name: string, v: Verdict, nameWidth = name.length): string {
  return `${v.pass ? 'PASS' : 'FAIL'}  ${name.padEnd(nameWidth)}  ${v.budget.padEnd(11)}  ${v.text}`;
}
