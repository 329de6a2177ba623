// Docs that are generated from code must match it.
import { expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { opsTable } from '../src/cli/ops.js';

it('docs/LANGUAGE.md ends with the current op table (regenerate with mc ops --markdown)', () => {
  expect(readFileSync('docs/LANGUAGE.md', 'utf8').endsWith(opsTable(true))).toBe(true);
});
