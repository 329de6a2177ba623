// Docs that are generated from code must match it.
import { expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { opsTable } from '../src/cli/ops.js';

it('docs/LANGUAGE.md ends with the current op table (regenerate with mc ops --markdown)', () => {
  expect(readFileSync('docs/LANGUAGE.md', 'utf8').endsWith(opsTable(true))).toBe(true);
});

/**
 * The keys a marked table of docs/PLAN.md documents: the table starts at the first line after the
 * line `<!-- MARK -->`; after its header and separator rows, each row's first cell is exactly one
 * backticked key.
 */
function documentedKeys(doc: string, mark: string): string[] {
  const lines = doc.split('\n');
  const at = lines.findIndex((l) => l.trim() === `<!-- ${mark} -->`);
  if (at < 0) throw new Error(`docs/PLAN.md has no <!-- ${mark} --> marker`);
  const rows: string[] = [];
  for (let i = at + 1; i < lines.length && lines[i].startsWith('|'); i++) rows.push(lines[i]);
  if (rows.length < 3 || !/^\|[\s|:-]+\|$/.test(rows[1].trim())) throw new Error(`the table after <!-- ${mark} --> needs a header, a separator and rows`);
  return rows.slice(2).map((row) => {
    const m = /^\|\s*`([A-Za-z_][A-Za-z0-9_]*)`\s*\|/.exec(row);
    if (!m) throw new Error(`<!-- ${mark} -->: the first cell must be one backticked key: ${row}`);
    return m[1];
  });
}

const doc = (): string => readFileSync('docs/PLAN.md', 'utf8');
const planSchema = (): { properties: Record<string, unknown>; definitions: { layer: { properties: Record<string, unknown> } } } =>
  JSON.parse(readFileSync('schemas/plan.schema.json', 'utf8'));

it('docs/PLAN.md documents exactly the top-level keys of schemas/plan.schema.json', () => {
  const keys = documentedKeys(doc(), 'plan-json-keys');
  expect(new Set(keys).size).toBe(keys.length);
  expect([...keys].sort()).toEqual(Object.keys(planSchema().properties).sort());
});

it('docs/PLAN.md documents exactly the layer-row keys of schemas/plan.schema.json', () => {
  const keys = documentedKeys(doc(), 'plan-json-layer-keys');
  expect(new Set(keys).size).toBe(keys.length);
  expect([...keys].sort()).toEqual(Object.keys(planSchema().definitions.layer.properties).sort());
});
