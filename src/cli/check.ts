// `mc check FILE [plan flags] [--max-memory SIZE] [--min-mfu F] [--max-step-time S]` or
// `mc check --budget FILE.yaml`: plans each configuration and gates it on its budgets, for CI
// without a GPU. One verdict line per budget (value, limit, margin), and for a failing check the
// smallest change that would pass. Exit 0 when every budget holds, 1 when one fails (or a spec
// does not compile or plan), 2 on bad usage or a bad budget file.
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { BudgetError, type CheckConfig, type RawCheck, loadBudget, resolveCheck } from '../check/budget.js';
import { ConfigError, type CheckResult, runCheck } from '../check/run.js';
import { verdictLine } from '../check/verdict.js';
import { checkMarkdown } from '../report/markdown.js';
import { progressBar } from '../report/progress.js';
import { EXIT_DIAGNOSTICS, EXIT_OK, PLAN_FLAGS, UsageError, checkOutputFile, parseSets, writeOutput } from './common.js';
import { usageOf } from './help.js';

const kebab = (f: string): string => `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function int(v: string | undefined, name: string, min = 1): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} expects an integer >= ${min}, got '${v}'`);
  return Number(v);
}

type Values = Record<string, string | boolean | string[] | undefined>;

/** The flags of `mc plan` plus the limits, as one check named after the spec file. */
function configFromFlags(path: string, v: Values): CheckConfig {
  if (!v.hw) throw new UsageError(`--hw is required (a800, a100-80g, h100-sxm, h200 or a .yaml profile): ${usageOf('check')}`);
  const mode = (v.mode as string | undefined) ?? 'train';
  if (mode !== 'train' && mode !== 'infer') throw new UsageError(`--mode expects train or infer, got '${mode}'`);
  const strategy = v.strategy as string | undefined; // unset: auto (resolveCheck), and refused with --mode infer only when given
  if (strategy !== undefined && !['auto', 'none', 'selective', 'full-recompute', 'memo'].includes(strategy))
    throw new UsageError(`--strategy expects auto, none, selective, full-recompute or memo; got '${strategy}'`);
  const zero = int(v.zero as string | undefined, 'zero', 0);
  if (zero !== undefined && zero > 3) throw new UsageError(`--zero expects 0, 1, 2 or 3, got ${zero}`);
  let maxStepTime: number | undefined;
  if (v['max-step-time'] !== undefined) {
    maxStepTime = Number(v['max-step-time']);
    if (!(maxStepTime > 0)) throw new UsageError(`--max-step-time expects seconds > 0, got '${v['max-step-time'] as string}'`);
  }
  const raw: RawCheck = {
    name: basename(path).replace(/\.mc$/, ''), spec: path, model: v.model as string | undefined, set: parseSets(v.set as string[] | undefined),
    hw: v.hw as string, calibration: v.calibration as string | undefined, mode, strategy: strategy as RawCheck['strategy'],
    gpus: int(v.gpus as string | undefined, 'gpus'), tp: int(v.tp as string | undefined, 'tp'), sp: v.sp as boolean | undefined,
    ulysses: int(v.ulysses as string | undefined, 'ulysses'), cp: int(v.cp as string | undefined, 'cp'), dp: int(v.dp as string | undefined, 'dp'),
    zero, offloadWeights: v['offload-weights'] as boolean | undefined, cfg: v.cfg as boolean | undefined,
    maxMemory: v['max-memory'] as string | undefined, minMfu: v['min-mfu'] as string | undefined, maxStepTime,
  };
  return resolveCheck(raw, kebab, (m) => new UsageError(m));
}

function report(results: readonly CheckResult[]): string[] {
  const w = Math.max(...results.map((r) => r.config.name.length));
  const out: string[] = [];
  for (const r of results) {
    out.push(`check ${r.config.name}: ${r.what}`);
    if (r.error !== undefined) out.push(`FAIL  ${r.config.name.padEnd(w)}  ${'plan'.padEnd(11)}  ${r.error.split('\n')[0]}`);
    for (const v of r.verdicts) out.push(verdictLine(r.config.name, v, w));
    if (r.suggestion !== undefined)
      out.push(`      ${r.config.name.padEnd(w)}  ${r.suggestion ? `smallest change that passes: ${r.suggestion}` : 'no single change tried (strategy, ZeRO stage, a parallel degree x2/x4/x8, a shorter sequence) passes'}`);
  }
  const budgets = results.reduce((n, r) => n + r.verdicts.length + (r.error !== undefined ? 1 : 0), 0);
  const failing = results.reduce((n, r) => n + r.verdicts.filter((v) => !v.pass).length + (r.error !== undefined ? 1 : 0), 0);
  out.push(`mc check: ${results.length} check${results.length === 1 ? '' : 's'}, ${budgets} budgets: ${budgets - failing} pass, ${failing} fail`);
  return out;
}

export async function checkCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    // allowNegative: --no-sp, as in `mc plan`.
    args: argv, allowPositionals: true, allowNegative: true,
    options: {
      ...PLAN_FLAGS,
      'max-memory': { type: 'string' }, 'min-mfu': { type: 'string' }, 'max-step-time': { type: 'string' },
      budget: { type: 'string' }, markdown: { type: 'string' }, json: { type: 'boolean' },
    },
  });
  let configs: CheckConfig[];
  if (values.budget !== undefined) {
    const planFlags = Object.keys(values).filter((k) => !['budget', 'markdown', 'json'].includes(k));
    if (positionals.length > 0 || planFlags.length > 0)
      throw new UsageError(`--budget takes no spec file or plan flags (they go in the budget file)${planFlags.length ? `; got --${planFlags[0]}` : ''}`);
    try {
      configs = loadBudget(values.budget);
    } catch (e) {
      if (e instanceof BudgetError) throw new UsageError(e.message);
      throw e;
    }
  } else {
    if (positionals.length !== 1) throw new UsageError(`expected one spec file or --budget FILE.yaml: ${usageOf('check')}`);
    configs = [configFromFlags(positionals[0], values)];
  }

  // A report that cannot be written fails before the checks run.
  if (values.markdown !== undefined && values.markdown !== '-') checkOutputFile(values.markdown);

  const results: CheckResult[] = [];
  const bar = progressBar(configs.length);
  try {
    for (const [i, c] of configs.entries()) {
      bar.update(i, c.name);
      results.push(await runCheck(c, { field: values.budget === undefined ? kebab : undefined }));
    }
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  } finally {
    bar.end();
  }

  for (const r of results) if (r.error !== undefined && r.error.includes('\n')) process.stderr.write(`${r.config.name}:\n${r.error}\n`);
  // With --json, stdout is the JSON alone; the verdict lines go to stderr.
  const lines = report(results).join('\n') + '\n';
  if (values.json) {
    process.stderr.write(lines);
    const json = results.map((r) => ({
      name: r.config.name, what: r.what, pass: r.pass,
      verdicts: r.verdicts.map(({ budget, pass, value, limit, margin }) => ({ budget, pass, value, limit, margin })),
      ...(r.suggestion !== undefined ? { suggestion: r.suggestion } : {}), ...(r.error !== undefined ? { error: r.error } : {}),
      ...(r.plan ? { plan: r.plan } : {}),
    }));
    process.stdout.write(JSON.stringify({ pass: results.every((r) => r.pass), checks: json }, null, 2) + '\n');
  } else process.stdout.write(lines);
  if (values.markdown !== undefined) {
    const md = checkMarkdown(results);
    if (values.markdown === '-') (values.json ? process.stderr : process.stdout).write('\n' + md);
    else writeOutput(values.markdown, md);
  }
  return results.every((r) => r.pass) ? EXIT_OK : EXIT_DIAGNOSTICS;
}
