// Human and JSON output of a plan. JSON keys are the ones `mc plan --json` promises (issue 3);
// the human form is a summary table (fits, peak per GPU by category, step time, MFU, alpha) and
// a per-layer table. Output is deterministic: no timestamps, no absolute paths.
import type { ArenaReport } from './arena.js';
import type { InferencePlan } from './infer.js';
import type { TrainingPlan } from './plan.js';
import type { Breakdown, LayerRow } from './types.js';

const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;
// Below a millisecond four decimals would print 0.0000 for a tiny model's whole step: use three
// significant digits instead.
const sec = (s: number): string => (s >= 100 ? s.toFixed(1) : s >= 1 ? s.toFixed(3) : s >= 1e-3 || s === 0 ? s.toFixed(4) : s.toExponential(2));
export const ATTENTION_CONVENTION = 'attention FLOPs as the IR counts them: causal = half the square (FlashAttention convention)';

function mfuText(mfu: number, fullSquare: number): string {
  const pc = (f: number): string => `${(100 * f).toFixed(1)}%`;
  if (Math.abs(fullSquare - mfu) <= 1e-12 * mfu) return `${pc(mfu)} (no causal attention: both attention conventions agree)`;
  // The full square counts the masked half of causal attention, which no kernel computes, so it
  // can pass 100% on a fast attention kernel; say so rather than print an impossible-looking MFU.
  const over = fullSquare > 1 ? ', over 100% because it counts the masked half that is never computed' : '';
  return `${pc(mfu)} (${ATTENTION_CONVENTION}); full-square attention: ${pc(fullSquare)}${over}`;
}

function layerJson(l: LayerRow): object {
  return {
    name: l.name, kind: l.kind, action: l.action, skeletalBytes: l.skeletalBytes, forwardTimeSec: l.forwardTimeSec,
    backwardTimeSec: l.backwardTimeSec, attentionTimeSec: l.attentionTimeSec, offloadTimeSec: l.offloadTimeSec,
    alpha: l.alpha, offloadBytes: l.offloadBytes, exposedCopySec: l.exposedCopySec, hidden: l.hidden,
  };
}

/** The arena keys of `--json`; allocSeconds is the one non-deterministic value. */
function arenaJson(a: ArenaReport): object {
  return {
    arenaBytes: a.arenaBytes, lowerBoundBytes: a.lowerBoundBytes, fragmentation: a.fragmentation,
    cachingAllocatorBytes: a.cachingAllocatorBytes, allocSolver: a.allocSolver, allocSeconds: a.allocSeconds,
    allocOptimal: a.optimal, allocVerified: a.violations === null ? null : a.violations.length === 0,
    arenaExceedsPeak: a.exceeds, buffers: a.buffers,
  };
}

export function planJson(p: TrainingPlan | InferencePlan, arena?: ArenaReport): object {
  const par = p.parallel;
  const arenaFits = !arena || arena.arenaBytes <= p.capacityBytes;
  const common = {
    mode: p.mode, hardware: p.hardware, gpus: p.gpus,
    parallel: { tp: par.tp, sp: par.sp, ulysses: par.ulysses, cp: par.cp, dp: par.dp, zero: par.zero },
    capacityBytes: p.capacityBytes, modelFlops: p.modelFlops, mfu: p.mfu, mfuFullSquare: p.mfuFullSquare,
    mfuConvention: ATTENTION_CONVENTION, tokensPerSec: p.tokensPerSec, params: p.params,
  };
  if (p.mode === 'infer')
    return {
      ...common, fits: p.fits && arenaFits, peakBytes: p.peakBytes, breakdown: p.breakdown, stepTimeSec: p.stepTimeSec,
      strategy: p.offloadWeights ? 'offload-weights' : 'resident', alpha: null, cpuBytesPerNode: p.cpuBytesPerNode,
      exposedCopySec: p.exposedCopySec, schedule: p.schedule, layers: p.layers.map(layerJson), ...(arena ? arenaJson(arena) : {}),
    };
  const c = p.plan;
  return {
    ...common, fits: c.fits && arenaFits, peakBytes: c.peakBytes, breakdown: c.breakdown, stepTimeSec: c.stepTimeSec,
    strategy: c.strategy, requested: p.requested, alpha: c.alpha, cpuBytesPerNode: c.cpuBytesPerNode,
    recomputeSec: c.recomputeSec, exposedCopySec: c.exposedCopySec, exposedCommSec: c.exposedCommSec, notes: c.notes,
    candidates: p.candidates.map((x) => ({ strategy: x.strategy, fits: x.fits, peakBytes: x.peakBytes, stepTimeSec: x.stepTimeSec })),
    schedule: c.schedule, layers: c.layers.map(layerJson), ...(arena ? arenaJson(arena) : {}),
  };
}

function table(head: string[], rows: string[][], leftCols: number): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => (i >= leftCols ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)];
}

function breakdownLines(b: Breakdown): string[] {
  return Object.entries(b).filter(([, v]) => v > 0).map(([k, v]) => `  ${k.padEnd(12)} ${gib(v)}`);
}

/** Two summary lines for the arena, and one explaining an arena above the analytic peak. */
function arenaLines(a: ArenaReport): string[] {
  const check = a.violations === null ? '' : a.violations.length === 0 ? '; verified' : `; FAILED verification (${a.violations.length}): ${a.violations[0]}`;
  const out = [
    `arena        ${gib(a.arenaBytes)} (${a.arenaBytes} B): lower bound ${gib(a.lowerBoundBytes)}, fragmentation ${(100 * a.fragmentation).toFixed(2)}%; caching allocator ${gib(a.cachingAllocatorBytes)} reserved`,
    `allocator    ${a.allocSolver}, ${a.allocSeconds.toFixed(2)} s: ${a.buffers.length} buffers over ${a.steps} steps, ${a.blocks} layer blocks from ${a.level1Solved} level-1 solves${check}`,
  ];
  if (a.exceeds) out.push(`note         ${a.exceeds}`);
  return out;
}

export function planText(p: TrainingPlan | InferencePlan, model: string, arena?: ArenaReport): string {
  const par = p.parallel;
  const layout = `tp ${par.tp}${par.sp ? ' (+sp)' : ''}, ulysses ${par.ulysses}, cp ${par.cp}, dp ${par.dp}, zero ${par.zero}`;
  const fits = (p.mode === 'infer' ? p.fits : p.plan.fits) && (!arena || arena.arenaBytes <= p.capacityBytes);
  const peak = p.mode === 'infer' ? p.peakBytes : p.plan.peakBytes;
  const step = p.mode === 'infer' ? p.stepTimeSec : p.plan.stepTimeSec;
  const out = [
    `plan ${model}: ${p.mode === 'infer' ? 'inference' : 'training'} on ${p.gpus} x ${p.hardware} (${layout})`,
    `strategy     ${p.mode === 'infer' ? (p.offloadWeights ? 'weights streamed from host' : 'weights resident') : `${p.plan.strategy}${p.requested !== 'auto' ? '' : p.plan.fits ? ' (auto: fastest that fits)' : ' (auto: none fits; the lowest peak)'}`}`,
    `fits         ${fits ? 'yes' : 'NO'}: peak ${gib(peak)} of ${gib(p.capacityBytes)} per GPU`,
    ...breakdownLines(p.mode === 'infer' ? p.breakdown : p.plan.breakdown),
    ...(arena ? arenaLines(arena) : []),
    `step time    ${sec(step)} s   (${Math.round(p.tokensPerSec).toLocaleString('en-US')} tokens/s)`,
    `MFU          ${mfuText(p.mfu, p.mfuFullSquare)}`,
  ];
  if (p.mode === 'train') {
    const c = p.plan;
    if (c.alpha) out.push(`alpha        ${Object.entries(c.alpha).map(([k, a]) => `${k} ${a.toFixed(3)}`).join(', ')}`);
    out.push(`host memory  ${gib(c.cpuBytesPerNode)} per node${c.cpuFits ? '' : ' (does NOT fit)'}; recompute ${sec(c.recomputeSec)} s, exposed copies ${sec(c.exposedCopySec)} s, exposed DP comm ${sec(c.exposedCommSec)} s`);
    for (const n of c.notes) out.push(`note         ${n}`);
    if (p.candidates.length > 1)
      out.push(`candidates   ${p.candidates.map((x) => `${x.strategy} ${x.fits ? 'fits' : 'no fit'} ${gib(x.peakBytes)} ${sec(x.stepTimeSec)} s`).join('; ')}`);
  } else if (p.offloadWeights) {
    out.push(`host memory  ${gib(p.cpuBytesPerNode)} per node of pinned block weights${p.cpuFits ? '' : ' (does NOT fit)'}; exposed copies ${sec(p.exposedCopySec)} s`);
    // Only repeated blocks stream; a spec without them keeps every weight resident.
    if (p.cpuBytesPerNode === 0) out.push('note         no repeated blocks to stream: every weight stays resident');
  }
  out.push('');
  const layers = p.mode === 'infer' ? p.layers : p.plan.layers;
  // A layer with no copy of its own (the last two under memo) can still wait on the one before it.
  const rows = layers.map((l) => [
    l.name, l.kind, l.action, gib(l.skeletalBytes), sec(l.forwardTimeSec), sec(l.attentionTimeSec), sec(l.offloadTimeSec),
    l.alpha === null ? '-' : l.alpha.toFixed(3),
    l.hidden === null ? (l.exposedCopySec > 0 ? `waits ${sec(l.exposedCopySec)}` : '-') : l.hidden ? 'hidden' : `exposed ${sec(l.exposedCopySec)}`,
  ]);
  out.push(...table(['layer', 'kind', 'action', 'skeletal', 'fwd s', 'attn s', 'offload s', 'alpha', 'copies'], rows, 3));
  return out.join('\n') + '\n';
}
