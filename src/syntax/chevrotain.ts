// Chevrotain, loaded from its single-file ESM bundle. The package's entry point pulls in lodash-es
// as ~600 modules, which costs ~0.5 s of every `mc` start (measured: 474-598 ms vs 25 ms for the
// bundle, docs/PERF.md); the bundle is the same release, prebuilt by its authors. The package's
// `exports` only name the entry point, so the bundle is found next to it; if it ever moves, the
// entry point is used instead.
import type * as Chevrotain from 'chevrotain';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const entry = createRequire(import.meta.url).resolve('chevrotain'); // .../chevrotain/lib/src/api.js
const bundle = join(dirname(entry), '..', 'chevrotain.mjs');
const chevrotain: typeof Chevrotain = existsSync(bundle) ? await import(pathToFileURL(bundle).href) : await import('chevrotain');

export const { createToken, CstParser, Lexer } = chevrotain;
