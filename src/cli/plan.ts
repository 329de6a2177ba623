// `mc plan FILE --hw NAME|file.yaml --gpus N [--tp N [--sp|--no-sp]] [--ulysses N] [--cp N] [--dp N]
// [--zero 0-3] [--mode train|infer] [--strategy auto|none|full-recompute|selective|memo]
// [--offload-weights] [--cfg] [--calibration file.yaml] [--set k=v]... [--model M] [--json]
// [--alloc greedy|mip|search|auto] [--verify]`. The plan's request trace is laid out in one arena
// per GPU (src/plan/arena.ts); a plan fits only when that arena fits too.
// Exit 0 with a plan that fits; 1 when nothing fits (one message naming the smallest change that
// fits), or on spec diagnostics; 2 on bad usage or a bad hardware profile.
import { parseArgs } from 'node:util';
import type { SourceFile } from '../diag/source.js';
import type { Graph } from '../ir/types.js';
import { ProfileError, loadProfile } from '../hw/profile.js';
import { ALLOC_CHOICES, type AllocChoice, planArena } from '../plan/arena.js';
import { planJson, planText } from '../plan/format.js';
import { TimelineError, renderTimeline, timelineFormat } from '../report/timeline.js';
import { planInference } from '../plan/infer.js';
import { type TiledPlan, parseTile, planTiled, tilingText } from '../plan/tiling.js';
import { planTraining, sameGpus, suggestChange } from '../plan/plan.js';
import { STRATEGIES, type Parallel, type Strategy } from '../plan/types.js';
import { EXIT_DIAGNOSTICS, EXIT_OK, PLAN_FLAGS, UsageError, checkOutputFile, frontEnd, parseSets, writeOutput } from './common.js';
import { usageOf } from './help.js';

/** --sp with --tp 1 would be silently dropped (Megatron does the same); refuse it instead. */
export const SP_WITHOUT_TP = '--sp needs --tp > 1 (Megatron sequence parallelism splits tokens over the tensor-parallel ranks); without tensor parallelism use --ulysses N or --cp N';

function int(v: string | undefined, name: string, def: number, min = 1): number {
  if (v === undefined) return def;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} expects an integer >= ${min}, got '${v}'`);
  return Number(v);
}

export async function planCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    // allowNegative: --no-sp plans tensor parallelism without Megatron sequence parallelism.
    args: argv, allowPositionals: true, allowNegative: true,
    options: {
      ...PLAN_FLAGS, json: { type: 'boolean' },
      alloc: { type: 'string' }, verify: { type: 'boolean' }, timeline: { type: 'string' },
      tile: { type: 'string' }, 'tile-overlap': { type: 'string' }, 'tile-budget': { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError(`expected one spec file: ${usageOf('plan')}`);
  // Check the picture's format before planning, so a typo fails fast.
  if (values.timeline !== undefined) {
    usage(() => timelineFormat(values.timeline!));
    checkOutputFile(values.timeline);
  }
  if (!values.hw) throw new UsageError(`--hw is required (a800, a100-80g, h100-sxm, h200 or a .yaml profile): ${usageOf('plan')}`);
  const mode = values.mode ?? 'train';
  if (mode !== 'train' && mode !== 'infer') throw new UsageError(`--mode expects train or infer, got '${mode}'`);
  const strategy = (values.strategy ?? 'auto') as Strategy | 'auto';
  const alloc = (values.alloc ?? 'auto') as AllocChoice;
  if (!ALLOC_CHOICES.includes(alloc)) throw new UsageError(`--alloc expects ${ALLOC_CHOICES.join(', ')}; got '${alloc}'`);
  if (strategy !== 'auto' && !STRATEGIES.includes(strategy)) throw new UsageError(`--strategy expects auto, ${STRATEGIES.join(', ')}; got '${strategy}'`);
  if (values.cfg && mode !== 'infer') throw new UsageError('--cfg applies to --mode infer');
  if (values['offload-weights'] && mode !== 'infer') throw new UsageError('--offload-weights applies to --mode infer');
  const tp = int(values.tp, 'tp', 1), ulysses = int(values.ulysses, 'ulysses', 1), cp = int(values.cp, 'cp', 1);
  const zero = int(values.zero, 'zero', 0, 0);
  if (zero > 3) throw new UsageError(`--zero expects 0, 1, 2 or 3, got ${zero}`);
  // Inference plans hold weights (resident or streamed) and transient activations only: the
  // training-memory flags would be silently ignored, so they are refused.
  if (mode === 'infer' && zero > 0) throw new UsageError('--zero applies to --mode train (it shards gradients and optimizer states); an inference plan keeps the weights on every GPU, or streams them with --offload-weights');
  if (mode === 'infer' && values.strategy !== undefined) throw new UsageError('--strategy applies to --mode train (which activations to keep); an inference plan keeps only transient activations');
  const inner = tp * ulysses * cp;
  const gpus = int(values.gpus, 'gpus', values.dp ? inner * int(values.dp, 'dp', 1) : inner);
  const dp = int(values.dp, 'dp', Math.max(1, Math.floor(gpus / inner)));
  if (tp * ulysses * cp * dp !== gpus)
    throw new UsageError(`--gpus ${gpus} must equal tp x ulysses x cp x dp = ${tp} x ${ulysses} x ${cp} x ${dp}`);
  // Megatron sequence parallelism rides on tensor parallelism; default it on with --tp > 1.
  if (values.sp === true && tp === 1) throw new UsageError(SP_WITHOUT_TP);
  const par: Parallel = { tp, sp: tp > 1 ? values.sp ?? true : false, ulysses, cp, dp, zero: zero as Parallel['zero'] };

  let hw;
  try {
    hw = loadProfile(values.hw, values.calibration);
  } catch (e) {
    if (e instanceof ProfileError) throw new UsageError(e.message);
    throw e;
  }
  const userSets = parseSets(values.set);
  const path = positionals[0];
  const load = (extra: Record<string, number>): { graph?: Graph; exit?: number; sources?: ReadonlyMap<string, SourceFile> } => {
    const sets = { ...userSets, ...extra };
    return frontEnd(path, values.model, Object.entries(sets).map(([k, v]) => `${k}=${v}`));
  };
  const silentLoad = (extra: Record<string, number>): Graph | undefined => {
    const write = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write; // candidates that do not elaborate are skipped
    try {
      return load(extra).graph;
    } catch {
      return undefined;
    } finally {
      process.stderr.write = write;
    }
  };
  let r = load({});
  if (r.exit !== undefined || !r.graph) return r.exit ?? EXIT_DIAGNOSTICS;
  let g = r.graph;
  if (values.cfg) {
    // Classifier-free guidance runs the conditional and unconditional passes as one batch of 2b.
    if (g.dims.batch === undefined) throw new UsageError('--cfg needs a `dim batch` in the spec to double');
    r = load({ batch: 2 * g.dims.batch });
    if (r.exit !== undefined || !r.graph) return r.exit ?? EXIT_DIAGNOSTICS;
    g = r.graph;
  }

  // --tile: plan one tile of a video decoder and sum the time over the tile grid.
  let tiled: TiledPlan | undefined;
  for (const f of ['tile-overlap', 'tile-budget'] as const)
    if (values[f] !== undefined && values.tile === undefined) throw new UsageError(`--${f} applies with --tile auto|FxHxW`);
  if (values.tile !== undefined) {
    if (mode !== 'infer') throw new UsageError('--tile applies to --mode infer');
    const tile = parseTile(values.tile);
    if (!tile) throw new UsageError(`--tile expects auto or FRAMESxHEIGHTxWIDTH (HunyuanVideo's default: 65x256x256), got '${values.tile}'`);
    const overlap = values['tile-overlap'] === undefined ? 0.25 : Number(values['tile-overlap']);
    if (!(overlap >= 0 && overlap < 1)) throw new UsageError(`--tile-overlap must be in [0, 1), got '${values['tile-overlap']}'`);
    const budget = values['tile-budget'] === undefined ? Infinity : Number(values['tile-budget']) * 2 ** 30;
    if (!(budget > 0)) throw new UsageError(`--tile-budget expects GiB, got '${values['tile-budget']}'`);
    const t = planTiled(g, silentLoad, hw, par, values['offload-weights'] ?? false, tile, overlap, budget);
    if ('error' in t) throw new UsageError(t.error);
    tiled = t;
  }
  const plan = tiled ? tiled.plan : mode === 'infer' ? planInference(g, hw, par, values['offload-weights'] ?? false) : planTraining(g, hw, par, strategy);
  if ('error' in plan) throw new UsageError(plan.error);
  const solved = await planArena(plan, { solver: alloc, verify: values.verify ?? false });
  // Activation and gradient buffers carry their tensor: report its name and DSL line instead.
  const arena = { ...solved, buffers: solved.buffers.map(({ tensor, ...b }) => {
    if (tensor === undefined) return b;
    const t = plan.ctx.g.tensors[tensor];
    const src = r.sources?.get(t.origin.file);
    return { ...b, name: t.name, ...(src ? { source: `${t.origin.file}:${src.position(t.origin.start).line}` } : {}) };
  }) };
  const tiling = tiled && { ...tiled, plan: undefined };
  if (values.json) process.stdout.write(JSON.stringify({ ...planJson(plan, arena), ...(tiling ? { tiling } : {}) }, null, 2) + '\n');
  else process.stdout.write(planText(plan, g.model, arena) + (tiled ? tilingText(tiled) : ''));
  if (values.timeline !== undefined) writeOutput(values.timeline, usage(() => renderTimeline({ ...planJson(plan, arena), model: g.model }, values.timeline!)));
  if (arena.violations && arena.violations.length > 0) {
    process.stderr.write(`mc plan: error: the memory layout failed verification: ${arena.violations[0]}\n`);
    return EXIT_DIAGNOSTICS;
  }
  const fits = (tiled ? tiled.fits : plan.mode === 'infer' ? plan.fits : plan.plan.fits) && arena.arenaBytes <= plan.capacityBytes;
  if (fits) return EXIT_OK;
  if (tiled) {
    const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;
    // With --tile auto every candidate was over: name the smallest, and what it would take.
    const least = tiled.candidates.filter((c) => Number.isFinite(c.peakBytes)).sort((a, b) => a.peakBytes - b.peakBytes)[0];
    const msg = least
      ? `no tile fits: the smallest tried, ${least.tile.frames}x${least.tile.height}x${least.tile.width}, needs ${gib(least.peakBytes)}; raise --tile-budget to at least that, or use a GPU with more memory`
      : `one ${tiled.tile.frames}x${tiled.tile.height}x${tiled.tile.width} tile needs ${gib(tiled.plan.peakBytes)}, over the GPU or --tile-budget: try a smaller --tile, or --tile auto`;
    process.stderr.write(`mc plan: error: ${msg}\n`);
    return EXIT_DIAGNOSTICS;
  }

  // Nothing fits: name the smallest change that does.
  const fitsWith = (g2: Graph, p2: Parallel, stream = values['offload-weights'] ?? false): boolean => {
    const q = mode === 'infer' ? planInference(g2, hw, p2, stream) : planTraining(g2, hw, p2, strategy);
    return !('error' in q) && (q.mode === 'infer' ? q.fits : q.plan.fits);
  };
  // Changes on the same GPUs come first, in the order docs/PLAN.md gives; each is tried only when
  // the ones before it do not fit.
  const same = sameGpus(gpus);
  const tries: (() => string | undefined)[] = [
    // Another strategy (mc check tries it first too): auto's pick, the fastest of those that fit.
    () => {
      const auto = mode === 'train' && strategy !== 'auto' ? planTraining(g, hw, par, 'auto') : undefined;
      return auto && !('error' in auto) && auto.plan.fits ? `--strategy ${auto.plan.strategy} (${same})` : undefined;
    },
    // Streaming the weights: the inference counterpart of another strategy.
    () => (mode === 'infer' && !values['offload-weights'] && fitsWith(g, par, true) ? `--offload-weights (${same})` : undefined),
    // A video decoder is decoded in tiles (as the reference does) before it is spread over more GPUs.
    () => {
      const t = mode === 'infer' ? planTiled(g, silentLoad, hw, par, values['offload-weights'] ?? false, 'auto') : undefined;
      return t && !('error' in t) && t.fits ? `--tile auto (${same}; tiles of ${t.tile.frames}x${t.tile.height}x${t.tile.width})` : undefined;
    },
    () => suggestChange(g, hw, par, strategy, fitsWith, silentLoad),
  ];
  const change = tries.reduce<string | undefined>((found, next) => found ?? next(), undefined);
  const what = mode === 'infer' ? 'inference' : strategy === 'auto' ? 'any strategy' : `strategy ${strategy}`;
  const peak = Math.max(arena.arenaBytes, plan.mode === 'infer' ? plan.peakBytes : plan.plan.peakBytes);
  process.stderr.write(
    `mc plan: error: ${g.model} does not fit on ${gpus} x ${hw.name} with ${what} (needs ${(peak / 2 ** 30).toFixed(1)} GiB of ${(plan.capacityBytes / 2 ** 30).toFixed(1)} GiB per GPU)` +
      `${change ? `; smallest change that fits: ${change}` : '; no single change tried (more GPUs, a parallel degree, a shorter sequence) fits'}\n`,
  );
  return EXIT_DIAGNOSTICS;
}

/** Timeline errors (unknown extension, a plan without buffers) are usage errors: one line, exit 2. */
function usage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof TimelineError) throw new UsageError(e.message);
    throw e;
  }
}
