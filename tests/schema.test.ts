// The published JSON schemas (issue 7) against real outputs: `mc inspect --json` of every model
// in every example, `mc plan --json` of a spread of training and inference plans, and the budget
// files in budgets/.
import { describe, expect, it, jest } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { inspectCommand } from '../src/cli/inspect.js';
import { planCommand } from '../src/cli/plan.js';
import { SIZE_PATTERN } from '../src/check/units.js';

const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
const schema = (name: string) => ajv.compile(JSON.parse(readFileSync(`schemas/${name}.schema.json`, 'utf8')) as object);
const validInspect = schema('inspect');
const validPlan = schema('plan');
const validBudget = schema('budget');

async function stdoutOf(f: () => number | Promise<number>): Promise<{ code: number; out: string }> {
  let out = '';
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((s) => { out += String(s); return true; });
  const e = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return { code: await f(), out };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

function examples(dir = 'examples'): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? examples(join(dir, d.name)) : d.name.endsWith('.mc') ? [join(dir, d.name)] : [])).sort();
}

const errors = (v: ReturnType<typeof schema>): string => ajv.errorsText(v.errors);

describe('schemas/inspect.schema.json', () => {
  const files = examples();
  it('finds the examples', () => expect(files.length).toBeGreaterThanOrEqual(11));
  it.each(files)('validates mc inspect --json of every model in %s', async (file) => {
    const models = [...readFileSync(file, 'utf8').matchAll(/^model\s+([A-Za-z_]\w*)/gm)].map((m) => m[1]);
    for (const model of models.length > 1 ? models : [undefined]) {
      const { code, out } = await stdoutOf(() => inspectCommand([file, '--json', ...(model ? ['--model', model] : [])]));
      expect(code).toBe(0);
      const ok = validInspect(JSON.parse(out));
      expect(ok ? '' : `${file} ${model ?? ''}: ${errors(validInspect)}`).toBe('');
    }
  });
});

describe('schemas/plan.schema.json', () => {
  const plans: [string, string[], number][] = [
    ['gpt-7b 1M, 8 x a800 tp 8 (auto: memo)', ['examples/memo-gpt/gpt-7b.mc', '--hw', 'a800', '--gpus', '8', '--tp', '8'], 0],
    ['HunyuanVideo training, ulysses 8 zero 3', ['examples/hunyuan-video/dit.mc', '--hw', 'h100-sxm', '--gpus', '8', '--ulysses', '8', '--zero', '3'], 0],
    ['HunyuanVideo inference, 1 x h100', ['examples/hunyuan-video/dit.mc', '--hw', 'h100-sxm', '--gpus', '1', '--mode', 'infer'], 0],
    ['HunyuanVideo inference, weights streamed, cfg', ['examples/hunyuan-video/dit.mc', '--hw', 'a800', '--mode', 'infer', '--offload-weights', '--cfg'], 0],
    ['tiny gpt, strategy none, dp 2', ['examples/tiny/gpt.mc', '--hw', 'a100-80g', '--dp', '2', '--zero', '1', '--strategy', 'none'], 0],
    ['gpt-65b on one GPU (does not fit)', ['examples/memo-gpt/gpt-65b.mc', '--hw', 'a800', '--gpus', '1', '--strategy', 'full-recompute'], 1],
  ];
  it.each(plans)('validates %s', async (_name, argv, exit) => {
    const { code, out } = await stdoutOf(() => planCommand([...argv, '--json']));
    expect(code).toBe(exit);
    const plan = JSON.parse(out) as Record<string, unknown>;
    const ok = validPlan(plan);
    expect(ok ? '' : errors(validPlan)).toBe('');
  });
  it('accepts the allocator keys and rejects a malformed plan', () => {
    const minimal = {
      mode: 'infer', hardware: 'h100-sxm', gpus: 1, parallel: { tp: 1, sp: false, ulysses: 1, cp: 1, dp: 1, zero: 0 }, capacityBytes: 1, modelFlops: 1,
      mfu: 0.5, mfuFullSquare: 0.5, mfuConvention: '', tokensPerSec: 1, params: 1, fits: true, peakBytes: 1,
      breakdown: { weights: 1, gradients: 0, optimizer: 0, skeletal: 0, transient: 0, swapBuffers: 0, workspace: 0 }, stepTimeSec: 1,
      strategy: 'resident', alpha: null, cpuBytesPerNode: 0, exposedCopySec: 0, schedule: { compute: [['fwd x', 0, 1]] }, layers: [],
    };
    const withArena = { ...minimal, arenaBytes: 10, lowerBoundBytes: 8, fragmentation: 0.25, cachingAllocatorBytes: 12,
      buffers: [{ id: 'a', offset: 0, size: 8, start: 0, end: 1, kind: 'weights', layer: 0 }, { id: 'b', offset: 8, size: 2, start: 0, end: 1, kind: 'swap staging', layer: null }] };
    expect(validPlan(minimal)).toBe(true);
    expect(validPlan(withArena)).toBe(true);
    expect(validPlan({ ...withArena, buffers: [{ id: 'a', offset: -1, size: 8, start: 0, end: 1, kind: 'weights' }] })).toBe(false);
    expect(validPlan({ ...minimal, mode: 'train' })).toBe(false); // training plans carry candidates, notes, ...
    expect(validPlan({ ...minimal, parallel: { ...minimal.parallel, zero: 4 } })).toBe(false);
  });
});

describe('schemas/budget.schema.json', () => {
  it('validates every budget file in budgets/', () => {
    const files = readdirSync('budgets').filter((f) => /\.ya?ml$/.test(f));
    expect(files).toContain('ci.yaml');
    for (const f of files) expect(validBudget(parseYaml(readFileSync(join('budgets', f), 'utf8'))) ? '' : `${f}: ${errors(validBudget)}`).toBe('');
  });
  it('uses the size pattern the parser uses', () => {
    const s = JSON.parse(readFileSync('schemas/budget.schema.json', 'utf8')) as { definitions: { size: { oneOf: { pattern?: string }[] } } };
    expect(s.definitions.size.oneOf[1].pattern).toBe(SIZE_PATTERN);
  });
});
