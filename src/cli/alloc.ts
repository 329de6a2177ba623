// `mc alloc FILE.csv --capacity N [--out FILE] [--time-limit S] [--solver NAME] [--verify] [--minimize]`
// Reads minimalloc's CSV, lays the buffers out in one arena, prints one line, optionally writes the
// CSV back with an `offset` column. Exit 0: fits within capacity; 1: does not; 2: bad usage or input.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AllocError, CsvError, allocate, parseCsv, verify, writeCsv, type SolverName } from '../alloc/index.js';
import { progressBar } from '../report/progress.js';
import { UsageError, readSpec, usageLine } from './common.js';
import { usageOf } from './help.js';


const SOLVERS: ReadonlyArray<SolverName> = ['greedy', 'mip', 'glpk', 'highs', 'search', 'auto'];

const Usage = UsageError;

export async function allocCommand(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (e instanceof Usage || e instanceof CsvError || e instanceof AllocError || code.startsWith('ERR_PARSE_ARGS') || /^E[A-Z]+$/.test(code)) {
      process.stderr.write(`mc alloc: error: ${usageLine((e as Error).message)}\n`);
      return 2;
    }
    throw e;
  }
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      capacity: { type: 'string' },
      out: { type: 'string' },
      'time-limit': { type: 'string' },
      solver: { type: 'string' },
      verify: { type: 'boolean' },
      minimize: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new Usage(`expected one input FILE.csv, got ${positionals.length}; usage: ${usageOf('alloc')}`);
  const capacity = values.capacity === undefined ? undefined : positiveInt('--capacity', values.capacity);
  const timeLimitS = values['time-limit'] === undefined ? 60 : positiveNumber('--time-limit', values['time-limit']);
  const solver = (values.solver ?? 'auto') as SolverName;
  if (!SOLVERS.includes(solver)) throw new Usage(`--solver must be one of ${SOLVERS.join(', ')}, got '${solver}'`);
  const file = positionals[0];
  const table = parseCsv(readSpec(file), file);
  const bar = progressBar(100);
  const onProgress = (f: number): void => bar.update(Math.min(100, Math.round(100 * f)), `% of the ${timeLimitS} s limit`);
  const sol = await allocate({ buffers: table.buffers, capacity }, { solver, timeLimitS, stopAtCapacity: !values.minimize, onProgress });
  bar.end();
  let checked = '';
  if (values.verify) {
    const bad = verify(table.buffers, sol.offsets, capacity !== undefined && sol.withinCapacity ? { capacity } : {});
    checked = bad.length === 0 ? ', verified' : `, VERIFY FAILED: ${bad[0]}`;
    if (bad.length > 0) process.stderr.write(bad.map((v) => `mc alloc: violation: ${v}\n`).join(''));
  }
  if (values.out !== undefined) writeFileSync(values.out, writeCsv(table, sol.offsets));
  const solved = capacity === undefined || sol.withinCapacity;
  // When the solver asked for did not produce the kept layout, say what it reported instead.
  const asked = solver === 'mip' ? 'highs' : solver;
  const why = asked !== 'auto' && asked !== sol.solver ? sol.notes.filter((n) => n.startsWith(asked)).at(-1) : undefined;
  const solverText = why ? `${sol.solver} (${asked === solver ? '' : `${solver} = `}${why})` : sol.solver;
  const capText = capacity === undefined ? '' : ` ${solved ? '<=' : '>'} capacity ${capacity}`;
  process.stdout.write(
    `${solved ? 'solved' : 'not solved'}: ${table.buffers.length} buffers, peak ${sol.peak}${capText}, ` +
      `lower bound ${sol.lowerBound}${sol.optimal ? ' (optimal)' : ` (gap ${(sol.gap * 100).toFixed(2)}%)`}, ` +
      `${sol.seconds.toFixed(2)} s, solver ${solverText}${checked}\n`,
  );
  return solved && !checked.includes('FAILED') ? 0 : 1;
}

function positiveInt(flag: string, raw: string): number {
  const v = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(v) || v <= 0) throw new Usage(`${flag} must be a positive integer, got '${raw}'`);
  return v;
}

function positiveNumber(flag: string, raw: string): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v <= 0) throw new Usage(`${flag} must be a positive number of seconds, got '${raw}'`);
  return v;
}

