// Golden files for error output: each tests/golden/errors/NAME.mc has the exact diagnostics the
// CLI prints (code, file:line:col, source line, caret) in NAME.errors.txt. UPDATE_GOLDEN=1 rewrites
// them; review the diff.
import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { formatDiagnostics } from '../src/driver/pipeline.js';
import { frontEnd } from './helpers.js';

const dir = 'tests/golden/errors';
const cases = readdirSync(dir).filter((f) => f.endsWith('.mc')).sort();

describe('error golden files', () => {
  it.each(cases)('%s', (file) => {
    const r = frontEnd(`${dir}/${file}`);
    expect(r.graph).toBeUndefined();
    const actual = formatDiagnostics(r) + '\n';
    const golden = `${dir}/${file.replace(/\.mc$/, '.errors.txt')}`;
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(golden)) writeFileSync(golden, actual);
    expect(actual).toBe(readFileSync(golden, 'utf8'));
  });
});
