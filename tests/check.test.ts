// `mc check` (issue 7): passing and failing budgets give exit 0 and 1 with the expected verdict
// lines, a failing check names the smallest change that passes, a malformed budget file gives one
// error naming the field, and --markdown / --json write the summary and the plan.
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Captured, runCommand } from './capture.js';
import { checkCommand } from '../src/cli/check.js';
import { parseSize, parseFraction } from '../src/check/units.js';

const run = (argv: string[]): Promise<Captured> => runCommand(checkCommand, argv);

const dir = mkdtempSync(join(tmpdir(), 'mc-check-'));
const GPT = resolve('examples/tiny/gpt.mc');
function budget(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('mc check FILE', () => {
  it('passes with exit 0 and one verdict line per budget', async () => {
    const r = await run([GPT, '--hw', 'a100-80g', '--max-memory', '1GiB', '--min-mfu', '1%', '--max-step-time', '10']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^PASS {2}gpt {2}memory {7}\d+\.\d\d GiB <= 1\.00 GiB, margin \d+\.\d\d GiB \(\d+\.\d%\)$/m);
    expect(r.out).toMatch(/^PASS {2}gpt {2}mfu {10}\d+\.\d% >= 1\.0%, margin \d+\.\d points$/m);
    expect(r.out).toMatch(/^PASS {2}gpt {2}step-time {4}.* <= 10\.00 s, margin/m);
    expect(r.out).toMatch(/mc check: 1 check, 3 budgets: 3 pass, 0 fail\n$/);
  });
  it('fails with exit 1, the shortfall and the smallest change that passes', async () => {
    const r = await run(['examples/memo-gpt/gpt-7b.mc', '--hw', 'a800', '--gpus', '8', '--tp', '8', '--strategy', 'full-recompute', '--max-memory', '70GiB']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^FAIL {2}gpt-7b {2}memory {7}75\.\d\d GiB > 70\.00 GiB, over by \d\.\d\d GiB/m);
    expect(r.out).toMatch(/smallest change that passes: --strategy memo \(same 8 GPUs\)/);
    expect(r.out).toMatch(/1 fail\n$/);
  });
  it('caps the memory budget at the GPU and fails a plan that does not fit', async () => {
    const r = await run(['examples/memo-gpt/gpt-65b.mc', '--hw', 'a800', '--gpus', '1', '--strategy', 'full-recompute', '--max-memory', '1TiB']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^FAIL .* memory .* > 80\.00 GiB \(usable GPU memory, below the budget\)/m);
  });
  it('rejects bad flags with one usage line', async () => {
    expect((await run([GPT, '--hw', 'a800', '--min-mfu', '1.5'])).code).toBe('usage: --min-mfu must be a fraction in (0, 1] or a percentage such as 45%, got "1.5"');
    expect((await run([GPT, '--hw', 'a800', '--max-memory', '80 parsecs'])).code).toMatch(/^usage: --max-memory must be bytes or a size/);
    expect((await run([GPT])).code).toMatch(/^usage: --hw is required/);
    expect((await run([GPT, '--hw', 'a800', '--gpus', '3', '--tp', '2'])).code).toMatch(/^usage: --gpus 3 must equal tp x ulysses x cp x dp/);
  });
});

describe('mc check FILE: the flags mc plan refuses, small budgets, streamed weights', () => {
  it('refuses what mc plan refuses instead of ignoring it', async () => {
    expect((await run([GPT, '--hw', 'a800', '--mode', 'infer', '--zero', '3'])).code).toMatch(/^usage: --zero applies to mode train/);
    expect((await run([GPT, '--hw', 'a800', '--mode', 'infer', '--strategy', 'memo'])).code).toMatch(/^usage: --strategy applies to mode train/);
    expect((await run([GPT, '--hw', 'a800', '--sp'])).code).toMatch(/^usage: --sp needs tp > 1/);
    const r = await run([GPT, '--hw', 'a800', '--tp', '2', '--no-sp']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^check gpt: gpt training on 2 x a800 \(tp 2\), /m);
  });
  it('prints a budget below a GiB in a unit that shows the numbers', async () => {
    const r = await run([GPT, '--hw', 'a800', '--mode', 'infer', '--max-memory', '1MiB']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^FAIL {2}gpt {2}memory {7}\d+\.\d\d MiB > 1\.00 MiB, over by \d+\.\d\d MiB/m);
  });
  it('gates the host memory that streamed weights pin', async () => {
    const r = await run([resolve('examples/tiny/dit.mc'), '--hw', 'h100-sxm', '--mode', 'infer', '--offload-weights', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { checks: { verdicts: { budget: string; value: number }[]; plan: { cpuBytesPerNode: number } }[] };
    const host = j.checks[0].verdicts.find((v) => v.budget === 'host-memory');
    expect(host?.value).toBe(j.checks[0].plan.cpuBytesPerNode);
    expect(host!.value).toBeGreaterThan(0);
  });
});

describe('mc check --budget', () => {
  const good = budget('good.yaml', `checks:
  - name: tiny-gpt
    spec: ${GPT}
    hw: a100-80g
    maxMemory: 2GiB
  - name: tiny-gpt-slow
    spec: ${GPT}
    hw: a100-80g
    set: { seq: 128 }
    maxStepTime: 0.000001
`);
  it('runs several checks, exits 1 when one fails and writes the Markdown summary', async () => {
    const md = join(dir, 'summary.md');
    const r = await run(['--budget', good, '--markdown', md]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^PASS {2}tiny-gpt {7}memory/m);
    expect(r.out).toMatch(/^FAIL {2}tiny-gpt-slow {2}step-time {4}.* > 0\.00000100 s, over by/m);
    expect(r.out).toMatch(/mc check: 2 checks, 3 budgets: 2 pass, 1 fail/);
    const text = readFileSync(md, 'utf8');
    expect(text).toContain('| check | configuration | budget | value | limit | margin | verdict |');
    expect(text).toMatch(/\| tiny-gpt-slow \| gpt training on 1 x a100-80g, \w+ \| step-time \|.*❌ FAIL \|/);
  });
  it('prints the plans as JSON with --json', async () => {
    const r = await run(['--budget', good, '--json']);
    const j = JSON.parse(r.out) as { pass: boolean; checks: { name: string; pass: boolean; plan: { peakBytes: number; buffers: unknown[] } }[] };
    expect(j.pass).toBe(false);
    expect(j.checks.map((c) => [c.name, c.pass])).toEqual([['tiny-gpt', true], ['tiny-gpt-slow', false]]);
    expect(j.checks[0].plan.peakBytes).toBeGreaterThan(0);
    expect(r.err).toContain('FAIL  tiny-gpt-slow');
  });
  it('names the bad field of a malformed budget file in one line', async () => {
    const cases: [string, string][] = [
      [`checks:\n  - name: a\n    spec: x.mc\n    hw: a800\n    minMfu: 1.5\n`, 'checks[0].minMfu must be a fraction in (0, 1] or a percentage such as 45%, got 1.5'],
      [`checks:\n  - name: a\n    spec: x.mc\n    hw: a800\n    maxMemory: lots\n`, 'checks[0].maxMemory must be bytes or a size such as 80GiB, got "lots"'],
      [`checks:\n  - name: a\n    spec: x.mc\n`, 'checks[0].hw is missing'],
      [`checks:\n  - name: a\n    spec: x.mc\n    hw: a800\n    tpp: 2\n`, 'checks[0].tpp is not a known field'],
      [`checks:\n  - name: a\n    spec: x.mc\n    hw: a800\n    zero: 5\n`, 'checks[0].zero must be one of 0, 1, 2, 3'],
      [`checks: []\n`, 'checks must NOT have fewer than 1 items'],
      [`checks:\n  - name: a\n    spec: ${GPT}\n    hw: a800\n  - name: a\n    spec: ${GPT}\n    hw: a800\n`, "checks[1].name 'a' is used twice"],
      [`checks: [\n`, 'not valid YAML'],
      [`checks:\n  - name: a\n    spec: x.mc\n    hw: a800\n    mode: infer\n    zero: 2\n`, 'checks[0].zero applies to mode train'],
    ];
    for (const [text, msg] of cases) {
      const p = budget('bad.yaml', text);
      const r = await run(['--budget', p]);
      expect(String(r.code).slice(0, `usage: ${p}: ${msg}`.length)).toBe(`usage: ${p}: ${msg}`);
      expect(String(r.code)).not.toContain('\n');
    }
    expect((await run(['--budget', good, GPT])).code).toMatch(/^usage: --budget takes no spec file/);
  });
});

it('parses sizes and fractions', () => {
  expect(parseSize('80GiB')).toBe(80 * 2 ** 30);
  expect(parseSize('75.5 GB')).toBe(75.5e9);
  expect(parseSize(1073741824)).toBe(2 ** 30);
  // A bare number is bytes; below 1 MiB it is a forgotten unit, refused.
  expect(parseSize(1024)).toBeUndefined();
  expect(parseSize('50')).toBeUndefined();
  expect(parseSize('50 B')).toBe(50);
  expect(parseSize('12 bananas')).toBeUndefined();
  expect(parseFraction('45%')).toBe(0.45);
  expect(parseFraction('0.3')).toBe(0.3);
  expect(parseFraction('0')).toBeUndefined();
});
