// Keeps grammar/mc.ebnf true to the parser: every Chevrotain rule must be defined there.
import { expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { getParser } from '../src/syntax/parser.js';

it('grammar/mc.ebnf defines every parser rule', () => {
  const ebnf = readFileSync('grammar/mc.ebnf', 'utf8');
  const defined = new Set([...ebnf.matchAll(/^(\w+)\s+=/gm)].map((m) => m[1]));
  const rules = Object.keys(getParser().getGAstProductions());
  expect(rules.length).toBeGreaterThan(15);
  expect(rules.filter((r) => !defined.has(r))).toEqual([]);
});
