// Budget files (`mc check --budget FILE.yaml`): YAML validated against schemas/budget.schema.json
// with ajv. Every problem is one line naming the file and the field (`checks[1].minMfu must be
// <= 1`), so the CLI prints it as a usage error. Paths inside the file resolve relative to it.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';
import type { Strategy } from '../plan/types.js';
import { parseFraction, parseSize } from './units.js';

/** One configuration to plan and the limits its plan must meet (flags of `mc plan`, resolved). */
export interface CheckConfig {
  readonly name: string;
  readonly spec: string;
  readonly model?: string;
  readonly set: Readonly<Record<string, number>>;
  readonly hw: string;
  readonly calibration?: string;
  readonly mode: 'train' | 'infer';
  readonly strategy: Strategy | 'auto';
  readonly gpus?: number;
  readonly tp?: number;
  readonly sp?: boolean;
  readonly ulysses?: number;
  readonly cp?: number;
  readonly dp?: number;
  readonly zero?: number;
  readonly offloadWeights: boolean;
  readonly cfg: boolean;
  readonly limits: Limits;
}

export interface Limits {
  readonly maxMemoryBytes?: number;
  readonly minMfu?: number;
  readonly maxStepTimeSec?: number;
}

/** A bad budget file; the message is one line naming the file and the field. */
export class BudgetError extends Error {}

const SCHEMA_PATH = new URL('../../schemas/budget.schema.json', import.meta.url);
let validate: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!validate) validate = new Ajv({ allErrors: false, strict: false }).compile(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object);
  return validate;
}

/** `/checks/1/minMfu` -> `checks[1].minMfu`. */
function fieldOf(path: string): string {
  return path.split('/').slice(1).map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function describe(errors: readonly ErrorObject[], data: unknown): string {
  // oneOf failures report each branch first; the most specific error is the first one.
  const e = errors[0];
  const field = fieldOf(e.instancePath);
  const at = (k: string): string => (field ? `${field}.${k}` : k);
  if (e.keyword === 'required') return `${at((e.params as { missingProperty: string }).missingProperty)} is missing`;
  if (e.keyword === 'additionalProperties') return `${at((e.params as { additionalProperty: string }).additionalProperty)} is not a known field`;
  if (e.keyword === 'enum') return `${field || '(top level)'} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  if (e.keyword === 'propertyNames') return `${field} has a bad name '${(e.params as { propertyName: string }).propertyName}'`;
  const value = e.instancePath.split('/').slice(1).reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], data);
  const oneOf = errors.find((x) => x.keyword === 'oneOf' && x.instancePath === e.instancePath);
  if (oneOf && /maxMemory$/.test(field)) return `${field} must be bytes or a size such as 80GiB, got ${JSON.stringify(value)}`;
  if (oneOf && /minMfu$/.test(field)) return `${field} must be a fraction in (0, 1] or a percentage such as 45%, got ${JSON.stringify(value)}`;
  return `${field || '(top level)'} ${e.message ?? 'is invalid'}`;
}

export type RawCheck = Omit<CheckConfig, 'limits' | 'set' | 'mode' | 'strategy' | 'offloadWeights' | 'cfg'> & {
  set?: Record<string, number>; mode?: 'train' | 'infer'; strategy?: Strategy | 'auto'; offloadWeights?: boolean; cfg?: boolean;
  maxMemory?: string | number; minMfu?: string | number; maxStepTime?: number;
};

/** Parses and validates a budget file's text; `source` names it in errors and anchors relative paths. */
export function parseBudget(text: string, source: string): CheckConfig[] {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (e) {
    throw new BudgetError(`${source}: not valid YAML (${String((e as Error).message).split('\n')[0]})`);
  }
  const v = validator();
  if (!v(data)) throw new BudgetError(`${source}: ${describe(v.errors ?? [], data)}`);
  const base = dirname(source);
  const rel = (p: string): string => (isAbsolute(p) ? p : join(base, p));
  const raw = (data as { checks: RawCheck[] }).checks;
  const seen = new Set<string>();
  return raw.map((c, i) => {
    if (seen.has(c.name)) throw new BudgetError(`${source}: checks[${i}].name '${c.name}' is used twice`);
    seen.add(c.name);
    const cfg = { ...c, hw: /\.ya?ml$/.test(c.hw) ? rel(c.hw) : c.hw, calibration: c.calibration && rel(c.calibration) };
    return resolveCheck({ ...cfg, spec: rel(c.spec) }, (f) => `${source}: checks[${i}].${f}`, (m) => new BudgetError(m));
  });
}

export function loadBudget(path: string): CheckConfig[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BudgetError(`cannot read budget file '${path}' (${code === 'ENOENT' ? 'no such file' : code ?? 'error'})`);
  }
  return parseBudget(text, path);
}

/**
 * Fills defaults and checks what the schema cannot: sizes and fractions, option combinations.
 * `field` names a field in messages (`budgets.yaml: checks[0].minMfu`, or `--min-mfu` for flags).
 */
export function resolveCheck(c: RawCheck, field: (name: string) => string, fail: (msg: string) => Error): CheckConfig {
  const mode = c.mode ?? 'train';
  if (c.cfg && mode !== 'infer') throw fail(`${field('cfg')} applies to mode infer`);
  if (c.offloadWeights && mode !== 'infer') throw fail(`${field('offloadWeights')} applies to mode infer`);
  // As `mc plan` refuses them: an inference plan has no ZeRO states and no activation strategy,
  // so these would be silently ignored.
  if (mode === 'infer' && (c.zero ?? 0) > 0) throw fail(`${field('zero')} applies to mode train (an inference plan keeps the weights on every GPU, or streams them with offloadWeights)`);
  if (mode === 'infer' && c.strategy !== undefined) throw fail(`${field('strategy')} applies to mode train (an inference plan keeps only transient activations)`);
  let maxMemoryBytes: number | undefined;
  if (c.maxMemory !== undefined) {
    maxMemoryBytes = parseSize(c.maxMemory);
    if (maxMemoryBytes === undefined) throw fail(`${field('maxMemory')} must be bytes or a size such as 80GiB, got ${JSON.stringify(c.maxMemory)}`);
  }
  let minMfu: number | undefined;
  if (c.minMfu !== undefined) {
    minMfu = parseFraction(c.minMfu);
    if (minMfu === undefined) throw fail(`${field('minMfu')} must be a fraction in (0, 1] or a percentage such as 45%, got ${JSON.stringify(c.minMfu)}`);
  }
  return {
    name: c.name, spec: c.spec, model: c.model, set: c.set ?? {}, hw: c.hw, calibration: c.calibration, mode,
    strategy: c.strategy ?? 'auto', gpus: c.gpus, tp: c.tp, sp: c.sp, ulysses: c.ulysses, cp: c.cp, dp: c.dp, zero: c.zero,
    offloadWeights: c.offloadWeights ?? false, cfg: c.cfg ?? false,
    limits: { maxMemoryBytes, minMfu, maxStepTimeSec: c.maxStepTime },
  };
}
