// Runs one budget check: compile the spec, plan it the way `mc plan` would with the same flags,
// compare the plan with each limit, and on failure search for the smallest change that passes
// (another strategy or weight streaming on the same GPUs first, then the planner's own ladder:
// a higher ZeRO stage, a doubled parallel degree, a shorter sequence).
import { readFileSync } from 'node:fs';
import { compileSpec, formatDiagnostics } from '../driver/pipeline.js';
import type { Graph } from '../ir/types.js';
import { type HardwareProfile, ProfileError, loadProfile } from '../hw/profile.js';
import { planArena } from '../plan/arena.js';
import { planJson } from '../plan/format.js';
import { planInference } from '../plan/infer.js';
import { type TrainingPlan, planTraining, sameGpus, suggestChange } from '../plan/plan.js';
import type { InferencePlan } from '../plan/infer.js';
import { STRATEGIES, type Parallel, type Strategy } from '../plan/types.js';
import type { CheckConfig } from './budget.js';
import { type PlanJson, type Verdict, evaluate } from './verdict.js';

export interface CheckResult {
  readonly config: CheckConfig;
  /** One line: model, mode, GPUs and layout, strategy. */
  readonly what: string;
  readonly pass: boolean;
  readonly verdicts: readonly Verdict[];
  /** The plan object `mc plan --json` prints; absent when the spec or the planner failed. */
  readonly plan?: PlanJson;
  /** Spec diagnostics or the planner's refusal (the check fails). */
  readonly error?: string;
  /** On failure: the smallest change that passes, or null when none of those tried does. */
  readonly suggestion?: string | null;
}

/** A configuration that cannot be planned at all (unknown profile, GPU count, dim): exit 2. */
export class ConfigError extends Error {}

export function resolveParallel(c: CheckConfig, field: (f: string) => string): Parallel {
  const tp = c.tp ?? 1, ulysses = c.ulysses ?? 1, cp = c.cp ?? 1, zero = c.zero ?? 0;
  const inner = tp * ulysses * cp;
  const gpus = c.gpus ?? (c.dp ? inner * c.dp : inner);
  const dp = c.dp ?? Math.max(1, Math.floor(gpus / inner));
  if (tp * ulysses * cp * dp !== gpus)
    throw new ConfigError(`${field('gpus')} ${gpus} must equal tp x ulysses x cp x dp = ${tp} x ${ulysses} x ${cp} x ${dp}`);
  // As in `mc plan`: Megatron sequence parallelism defaults on with tp > 1, and needs it.
  if (c.sp === true && tp === 1) throw new ConfigError(`${field('sp')} needs tp > 1 (Megatron sequence parallelism splits tokens over the tensor-parallel ranks); without tensor parallelism use ulysses or cp`);
  return { tp, sp: tp > 1 ? c.sp ?? true : false, ulysses, cp, dp, zero: zero as Parallel['zero'] };
}

const isError = (p: PlanJson | { error: string }): p is { error: string } => typeof p.error === 'string';

interface Loaded { graph?: Graph; diagnostics?: string }

function loader(c: CheckConfig): (extra: Record<string, number>) => Loaded {
  const read = (p: string): string | { error: string } => {
    try {
      return readFileSync(p, 'utf8');
    } catch (e) {
      return { error: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String((e as Error).message) };
    }
  };
  let text: string;
  try {
    text = readFileSync(c.spec, 'utf8');
  } catch {
    throw new ConfigError(`cannot read spec '${c.spec}' (check '${c.name}')`);
  }
  return (extra) => {
    const r = compileSpec(c.spec, text, { model: c.model, set: { ...c.set, ...extra } }, read);
    if (r.usage) throw new ConfigError(`check '${c.name}': ${r.usage}`);
    if (r.diagnostics.length > 0 || !r.graph) return { diagnostics: formatDiagnostics(r) };
    return { graph: r.graph };
  };
}

type Planned = TrainingPlan | InferencePlan | { error: string };

/** Plans with classifier-free guidance doubling the batch, as `mc plan --cfg` does. */
function planOf(c: CheckConfig, load: (extra: Record<string, number>) => Loaded, g: Graph, hw: HardwareProfile, par: Parallel,
  strategy: Strategy | 'auto', offload: boolean): Planned {
  let graph = g;
  if (c.cfg) {
    if (g.dims.batch === undefined) throw new ConfigError(`check '${c.name}': cfg needs a \`dim batch\` in the spec to double`);
    const r = load({ batch: 2 * g.dims.batch });
    if (!r.graph) return { error: r.diagnostics ?? 'the doubled batch does not elaborate' };
    graph = r.graph;
  }
  return c.mode === 'infer' ? planInference(graph, hw, par, offload) : planTraining(graph, hw, par, strategy);
}

/** The analytic plan as JSON (for the suggestion search, which tries many configurations). */
function quick(p: Planned): PlanJson | { error: string } {
  return 'error' in p ? p : (planJson(p) as PlanJson);
}

export function describeConfig(model: string, c: CheckConfig, par: Parallel, plan?: PlanJson): string {
  const layout = [par.tp > 1 && `tp ${par.tp}${par.sp ? '+sp' : ''}`, par.ulysses > 1 && `ulysses ${par.ulysses}`, par.cp > 1 && `cp ${par.cp}`,
    par.dp > 1 && `dp ${par.dp}`, par.zero > 0 && `zero ${par.zero}`].filter(Boolean).join(', ');
  const gpus = par.tp * par.ulysses * par.cp * par.dp;
  const strategy = plan?.strategy ?? (c.mode === 'infer' ? (c.offloadWeights ? 'offload-weights' : 'resident') : c.strategy);
  return `${model} ${c.mode === 'infer' ? 'inference' : 'training'} on ${gpus} x ${c.hw.replace(/^.*\//, '')}${layout ? ` (${layout})` : ''}, ${strategy}${c.cfg ? ', cfg' : ''}`;
}

/**
 * Plans `c` and evaluates its limits. The plan is laid out by the greedy allocator (deterministic,
 * an upper bound on the layout `mc plan` searches for), so memory is the arena when it exceeds the
 * analytic peak; the suggestion search compares analytic plans only, as `mc plan` does.
 */
export async function runCheck(c: CheckConfig, opts: { suggest?: boolean; field?: (f: string) => string } = {}): Promise<CheckResult> {
  const field = opts.field ?? ((f: string) => `check '${c.name}': ${f}`);
  let hw: HardwareProfile;
  try {
    hw = loadProfile(c.hw, c.calibration);
  } catch (e) {
    if (e instanceof ProfileError) throw new ConfigError(e.message);
    throw e;
  }
  const par = resolveParallel(c, field);
  const load = loader(c);
  const first = load({});
  if (!first.graph) return { config: c, what: `${c.name} (${c.spec})`, pass: false, verdicts: [], error: first.diagnostics };
  const g = first.graph;
  const planned = planOf(c, load, g, hw, par, c.strategy, c.offloadWeights);
  const plan = 'error' in planned ? planned : (planJson(planned, await planArena(planned, { solver: 'greedy' })) as PlanJson);
  if (isError(plan)) return { config: c, what: describeConfig(g.model, c, par), pass: false, verdicts: [], error: plan.error };
  const verdicts = evaluate(plan, c.limits, hw);
  const pass = verdicts.every((v) => v.pass);
  const what = describeConfig(g.model, c, par, plan);
  if (pass || opts.suggest === false) return { config: c, what, pass, verdicts, plan };

  const passes = (g2: Graph, p2: Parallel, s: Strategy | 'auto', offload: boolean): boolean => {
    const q = quick(planOf(c, load, g2, hw, p2, s, offload));
    return !isError(q) && evaluate(q, c.limits, hw).every((v) => v.pass);
  };
  return { config: c, what, pass, verdicts, plan, suggestion: suggest(c, g, par, passes, load) };
}

function suggest(c: CheckConfig, g: Graph, par: Parallel, passes: (g: Graph, p: Parallel, s: Strategy | 'auto', o: boolean) => boolean,
  load: (extra: Record<string, number>) => Loaded): string | null {
  const gpus = par.tp * par.ulysses * par.cp * par.dp;
  // Same GPUs first: another strategy (training) or streaming the weights (inference).
  if (c.mode === 'train') {
    for (const s of [...STRATEGIES].reverse()) if (s !== c.strategy && passes(g, par, s, false)) return `--strategy ${s} (${sameGpus(gpus)})`;
  } else if (!c.offloadWeights && passes(g, par, c.strategy, true)) return `--offload-weights (${sameGpus(gpus)})`;
  const hw = loadProfile(c.hw, c.calibration);
  const change = suggestChange(g, hw, par, c.strategy, (g2, p2) => passes(g2, p2, c.strategy, c.offloadWeights), (sets) => load(sets).graph);
  return change ?? null;
}
