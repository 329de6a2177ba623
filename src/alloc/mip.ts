// The DSA big-M MIP: integer offsets, one 0/1 order variable per pair of time-overlapping buffers,
// minimise the peak P. Solved with glpk.js or HiGHS (WASM). Both solve synchronously on this thread,
// so the solver's own time limit is the only guard: it is always set from the caller's deadline.
// Upper-bounded by the incumbent peak (also the big-M), P lower-bounded by the max-load bound.
import GLPK from 'glpk.js/node';
import highsModule from 'highs';
import { conflictLists } from './conflicts.js';
import { offsetGrain, gcd, alignOf, type Buffer } from './types.js';
import { verify } from './verify.js';

/** auto runs the MIP only when the instance has at most this many overlapping pairs. */
export const MIP_AUTO_MAX_PAIRS = 150;

export interface MipInput {
  readonly which: 'glpk' | 'highs';
  readonly lowerBound: number;
  /** Peak of the incumbent layout: bounds P and serves as big-M. */
  readonly upperBound: number;
  readonly capacity?: number;
  /** performance.now() deadline in ms. */
  readonly deadline: number;
}

export interface MipResult {
  readonly offsets?: number[];
  readonly peak: number;
  readonly optimal: boolean;
  readonly note: string;
}

// highs ships types with `export default` in a CJS package: under NodeNext the default import is
// typed as the namespace. At run time the ESM build's default is the loader (toolchain.md §3).
type HighsLoader = typeof highsModule.default;
const loadHighs: HighsLoader =
  (highsModule as unknown as { default?: HighsLoader }).default ?? (highsModule as unknown as HighsLoader);

// Solver instances are loaded once per process (WASM start-up is 20-200 ms) and reused.
let highsP: ReturnType<HighsLoader> | undefined;
let glpkP: ReturnType<typeof GLPK> | undefined;

interface Model {
  /** Scale: every size, alignment and pinned offset is a multiple of g; the MIP works in units of g. */
  readonly g: number;
  readonly vars: number[]; // buffer indices that get an offset variable
  readonly coef: number[]; // offset = coef * q (alignment in units of g)
  readonly pairs: Array<[number, number]>;
  readonly ub: number; // in units
  readonly lb: number;
}

export async function mipSolve(buffers: ReadonlyArray<Buffer>, inp: MipInput): Promise<MipResult> {
  const budgetS = (inp.deadline - performance.now()) / 1000;
  if (budgetS <= 0.05) return { peak: inp.upperBound, optimal: false, note: `${inp.which}: no time left` };
  const m = buildModel(buffers, inp);
  const t0 = performance.now();
  let values: Map<string, number> | undefined;
  let status = '';
  if (inp.which === 'highs') {
    const highs = await (highsP ??= loadHighs());
    const left = Math.max(0.05, (inp.deadline - performance.now()) / 1000);
    const r = highs.solve(toLpText(buffers, m), { output_flag: false, time_limit: left, mip_rel_gap: 0 } as never);
    status = r.Status;
    if (r.Status === 'Optimal' || r.Status === 'Time limit reached') {
      values = new Map();
      for (const [name, col] of Object.entries(r.Columns)) {
        const p = (col as { Primal?: number }).Primal;
        if (p !== undefined) values.set(name, Math.round(p)); // integer columns come back with float noise
      }
    }
  } else {
    const glpk = await (glpkP ??= GLPK());
    const left = Math.max(0.05, (inp.deadline - performance.now()) / 1000);
    const r = glpk.solve(toGlpk(glpk, buffers, m), { msglev: glpk.GLP_MSG_OFF, tmlim: left, presol: true });
    status = r.result.status === glpk.GLP_OPT ? 'Optimal' : r.result.status === glpk.GLP_FEAS ? 'Feasible' : `status ${r.result.status}`;
    if (r.result.status === glpk.GLP_OPT || r.result.status === glpk.GLP_FEAS) {
      values = new Map(Object.entries(r.result.vars).map(([k, v]) => [k, Math.round(v)]));
    }
  }
  const secs = ((performance.now() - t0) / 1000).toFixed(2);
  const note = `${inp.which}: ${status}, ${m.pairs.length} order binaries, ${secs} s`;
  if (!values || !values.has('P')) return { peak: inp.upperBound, optimal: false, note };
  const offsets = buffers.map((b) => b.fixedOffset ?? 0);
  m.vars.forEach((i, k) => (offsets[i] = m.g * m.coef[k] * (values?.get(`q${k}`) ?? 0)));
  // A time-limited run may report columns without a feasible point: check before offering it.
  if (verify(buffers, offsets).length > 0) return { peak: inp.upperBound, optimal: false, note: `${note}, no valid layout` };
  let peak = 0;
  buffers.forEach((b, i) => b.size > 0 && (peak = Math.max(peak, offsets[i] + b.size)));
  return { offsets, peak, optimal: status === 'Optimal', note };
}


function buildModel(buffers: ReadonlyArray<Buffer>, inp: MipInput): Model {
  const g = offsetGrain(buffers);
  const vars: number[] = [];
  const coef: number[] = [];
  const pos = new Map<number, number>();
  buffers.forEach((b, i) => {
    if (b.size <= 0 || b.start >= b.end) return;
    pos.set(i, vars.length);
    vars.push(i);
    // Offsets are multiples of lcm(alignment, g); in units of g that is lcm / g.
    const a = alignOf(b);
    coef.push(a > 1 ? a / gcd(a, g) : 1);
  });
  const conf = conflictLists(buffers);
  const pairs: Array<[number, number]> = [];
  for (const i of vars) for (const j of conf[i]) if (i < j && pos.has(j)) pairs.push([pos.get(i) as number, pos.get(j) as number]);
  let ubBytes = inp.upperBound;
  if (inp.capacity !== undefined) ubBytes = Math.min(ubBytes, Math.max(inp.capacity, inp.lowerBound));
  // Units: round the bound down (any peak <= ubBytes is a multiple-of-g peak <= floor(ubBytes / g)).
  return { g, vars, coef, pairs, ub: Math.max(Math.floor(ubBytes / g), Math.ceil(inp.lowerBound / g)), lb: Math.ceil(inp.lowerBound / g) };
}

/** Rows shared by both encodings: [terms, upper bound]. */
function rows(buffers: ReadonlyArray<Buffer>, m: Model): Array<[Array<[string, number]>, number]> {
  const M = m.ub;
  const size = (k: number) => buffers[m.vars[k]].size / m.g;
  const out: Array<[Array<[string, number]>, number]> = [];
  m.pairs.forEach(([i, j], p) => {
    // z = 1: i below j (o_i + s_i <= o_j); z = 0: j below i.
    out.push([[[`q${i}`, m.coef[i]], [`q${j}`, -m.coef[j]], [`z${p}`, M]], M - size(i)]);
    out.push([[[`q${j}`, m.coef[j]], [`q${i}`, -m.coef[i]], [`z${p}`, -M]], -size(j)]);
  });
  m.vars.forEach((_, k) => out.push([[[`q${k}`, m.coef[k]], ['P', -1]], -size(k)]));
  return out;
}

function qBounds(buffers: ReadonlyArray<Buffer>, m: Model, k: number): [number, number] {
  const b = buffers[m.vars[k]];
  if (b.fixedOffset !== undefined) {
    const q = b.fixedOffset / m.g / m.coef[k];
    return [q, q];
  }
  return [0, Math.max(0, Math.floor((m.ub - b.size / m.g) / m.coef[k]))];
}

function toLpText(buffers: ReadonlyArray<Buffer>, m: Model): string {
  const term = ([name, c]: [string, number]) => `${c >= 0 ? '+' : '-'} ${Math.abs(c)} ${name}`;
  const lines = ['Minimize', ' obj: P', 'Subject To'];
  rows(buffers, m).forEach(([terms, ub], r) => lines.push(` r${r}: ${terms.map(term).join(' ')} <= ${ub}`));
  lines.push('Bounds', ` ${m.lb} <= P <= ${m.ub}`);
  m.vars.forEach((_, k) => {
    const [lo, hi] = qBounds(buffers, m, k);
    lines.push(` ${lo} <= q${k} <= ${hi}`);
  });
  // Loops, not push(...array): a spread of tens of thousands of arguments overflows the stack.
  lines.push('General');
  for (let k = 0; k < m.vars.length; k++) lines.push(` q${k}`);
  if (m.pairs.length > 0) lines.push('Binary');
  for (let p = 0; p < m.pairs.length; p++) lines.push(` z${p}`);
  lines.push('End');
  return lines.join('\n');
}

type Glpk = Awaited<ReturnType<typeof GLPK>>;

function toGlpk(glpk: Glpk, buffers: ReadonlyArray<Buffer>, m: Model) {
  return {
    name: 'dsa',
    objective: { direction: glpk.GLP_MIN, name: 'obj', vars: [{ name: 'P', coef: 1 }] },
    subjectTo: rows(buffers, m).map(([terms, ub], r) => ({
      name: `r${r}`,
      vars: terms.map(([name, coef]) => ({ name, coef })),
      bnds: { type: glpk.GLP_UP, ub, lb: 0 },
    })),
    bounds: [
      { name: 'P', type: glpk.GLP_DB, lb: m.lb, ub: m.ub },
      ...m.vars.map((_, k) => {
        const [lo, hi] = qBounds(buffers, m, k);
        return { name: `q${k}`, type: lo === hi ? glpk.GLP_FX : glpk.GLP_DB, lb: lo, ub: hi };
      }),
    ],
    generals: m.vars.map((_, k) => `q${k}`),
    binaries: m.pairs.map((_, p) => `z${p}`),
  };
}
