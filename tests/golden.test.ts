// Golden files. Errors: each tests/golden/errors/NAME.mc has the exact diagnostics the CLI prints
// (code, file:line:col, source line, caret) in NAME.errors.txt. IR: the printed IR of the tiny
// examples in tests/golden/ir/. UPDATE_GOLDEN=1 rewrites them; review the diff.
import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { formatDiagnostics } from '../src/driver/pipeline.js';
import { printGraph } from '../src/ir/print.js';
import { frontEnd } from './helpers.js';

const dir = 'tests/golden/errors';
const cases = readdirSync(dir).filter((f) => f.endsWith('.mc')).sort();

function check(golden: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(golden)) writeFileSync(golden, actual);
  expect(actual).toBe(readFileSync(golden, 'utf8'));
}

describe('error golden files', () => {
  it.each(cases)('%s', (file) => {
    const r = frontEnd(`${dir}/${file}`);
    expect(r.graph).toBeUndefined();
    check(`${dir}/${file.replace(/\.mc$/, '.errors.txt')}`, formatDiagnostics(r) + '\n');
  });
});

describe('IR golden files', () => {
  it.each(['dit', 'vae', 'gpt'])('tiny/%s.mc', (name) => {
    const r = frontEnd(`examples/tiny/${name}.mc`);
    expect(r.graph).toBeDefined();
    check(`tests/golden/ir/tiny-${name}.ir.txt`, printGraph(r.graph!, r.sources));
  });
});
