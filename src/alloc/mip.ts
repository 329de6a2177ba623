// The DSA big-M MIP: integer offsets, one 0/1 order variable per pair of time-overlapping buffers,
// minimise the peak P. Solved with glpk.js or HiGHS (WASM). Both solve synchronously on this thread,
// so nothing can stop them from outside: a model goes to a solver only when the work no time limit
// covers fits the time left, and the solver's own limit is set from the caller's deadline just before
// it runs. P lies between the caller's lower bound and the incumbent's peak (also the big-M); HiGHS
// starts from the incumbent.
import GLPK from 'glpk.js/node';
import highsModule from 'highs';
import { conflictLists } from './conflicts.js';
import { placeAll } from './greedy.js';
import { offsetGrain, gcd, lcm, alignOf, peakOf, type Buffer } from './types.js';
import { verify } from './verify.js';

/** auto runs the MIP only when the instance has at most this many overlapping pairs. */
export const MIP_AUTO_MAX_PAIRS = 150;

/**
 * What a solve costs outside the solver's own time limit, where nothing can stop it (both solvers run
 * synchronously on this thread, and HiGHS's interrupt callbacks were no quicker than its limit):
 * building the model's arrays and copying them into WASM, reading the answer back and settling it,
 * and the solver's work before it next looks at its clock. On the 2-core dev VM: about 10 us per
 * order binary to set up with HiGHS (glpk.js's object model costs more), and HiGHS overshot its limit
 * by up to 0.06 s on small models but by 0.1-0.4 s on models of 1.4k-84k binaries (a root cut round
 * or presolve pass runs to its end). A solve that would spend more than half of the time left
 * outside its limit is not started; otherwise its limit ends that much before the deadline.
 */
const FIXED_S = 0.05;
const SETUP_S_PER_BINARY: Readonly<Record<'glpk' | 'highs', number>> = { highs: 10e-6, glpk: 50e-6 };
const LATE_S_PER_BINARY = 300e-6;
const LATE_MAX_S = 0.4;

/** The solver's own time limit for a model of this many binaries with leftS to go; undefined: skip it. */
export function mipTimeLimitS(which: 'glpk' | 'highs', binaries: number, leftS: number): number | undefined {
  const outside = FIXED_S + binaries * SETUP_S_PER_BINARY[which] + Math.min(LATE_MAX_S, binaries * LATE_S_PER_BINARY);
  return 2 * outside > leftS ? undefined : leftS - outside;
}

export interface MipInput {
  readonly which: 'glpk' | 'highs';
  readonly lowerBound: number;
  /** Peak of the incumbent layout: bounds P and serves as big-M. */
  readonly upperBound: number;
  /** The incumbent's offsets by buffer index (peak upperBound): HiGHS starts from it. */
  readonly incumbent?: ReadonlyArray<number>;
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
type Highs = Awaited<ReturnType<HighsLoader>>;
const loadHighs: HighsLoader =
  (highsModule as unknown as { default?: HighsLoader }).default ?? (highsModule as unknown as HighsLoader);

// Solver instances are loaded once per process (WASM start-up is 20-200 ms) and reused.
let highsP: Promise<Highs> | undefined;
let glpkP: ReturnType<typeof GLPK> | undefined;

/**
 * The MIP over the buffers that need one. A buffer that overlaps every other one in time shares no
 * bytes with any of them at any time, so the band it occupies can move to the bottom, shifting what
 * was below it up by its size. When that size is a multiple of every alignment, no shift breaks one:
 * some optimal layout has all such buffers stacked at the bottom, and they are left out of the MIP.
 */
interface Model {
  /** The MIP's unit: divides every size, alignment and pinned offset and the stack's height. */
  readonly g: number;
  readonly vars: number[]; // buffer indices that get an offset variable
  readonly coef: number[]; // offset = base + g * coef * q: alignment in units of g
  readonly pairs: Array<[number, number]>;
  readonly ub: number; // P, in units above base
  readonly lb: number;
  /** The stacked buffers, bottom first, and their height. */
  readonly stack: number[];
  readonly base: number;
}

export async function mipSolve(buffers: ReadonlyArray<Buffer>, inp: MipInput): Promise<MipResult> {
  const left = () => (inp.deadline - performance.now()) / 1000;
  const none = (why: string): MipResult => ({ peak: inp.upperBound, optimal: false, note: `${inp.which}: ${why}` });
  if (mipTimeLimitS(inp.which, 0, left()) === undefined) return none(`skipped: ${left().toFixed(2)} s left`);
  const conf = conflictLists(buffers);
  const m = buildModel(buffers, conf, inp);
  if (!m) return none('nothing to improve: the incumbent is at the bound');
  const limit = mipTimeLimitS(inp.which, m.pairs.length, left());
  if (limit === undefined) return none(`skipped: ${m.pairs.length} order binaries need more setup than half of the ${left().toFixed(2)} s left`);
  const until = performance.now() + limit * 1000; // the solver's own limit ends here
  const t0 = performance.now();
  const r = m.vars.length === 0 ? { status: 'Optimal', values: [] } : inp.which === 'highs' ? await runHighs(buffers, conf, m, inp, until) : await runGlpk(buffers, m, until);
  const secs = ((performance.now() - t0) / 1000).toFixed(2);
  const note = `${inp.which}: ${r.status}, ${m.pairs.length} order binaries${m.stack.length ? ` (${m.stack.length} buffers stacked below)` : ''}, ${secs} s`;
  // A start the solver neither improved nor proved optimal is not the solver's layout: report none.
  if (!r.values || (r.isStart && r.status !== 'Optimal')) return { peak: inp.upperBound, optimal: false, note: `${note}${r.values ? ', nothing better than its start' : ''}` };
  // Integer columns come back with float noise, and a big-M row within the solver's tolerance can
  // overlap by a few units: settle the stack, then the rest in the solver's order, to the lowest free
  // offsets. On a valid layout that never moves anything up, so the peak is at most the solver's.
  const q = r.values;
  const at = m.vars.map((_, k) => m.coef[k] * Math.max(0, Math.round(q[k])));
  const order = [...m.stack, ...m.vars.map((i, k) => [i, at[k]]).sort((x, y) => x[1] - y[1] || x[0] - y[0]).map(([i]) => i)];
  const offsets = placeAll(buffers, conf, order, 'first');
  if (verify(buffers, offsets).length > 0) return { peak: inp.upperBound, optimal: false, note: `${note}, no valid layout` };
  const peak = peakOf(buffers, offsets);
  return { offsets, peak, optimal: r.status === 'Optimal', note };
}

/** The solver's time limit, set just before it runs: whatever the model build took is already spent. */
const limitS = (until: number): number => Math.max(0.01, (until - performance.now()) / 1000);

interface Run {
  readonly status: string;
  /** q values (offset variables in units), present when the solver has a solution. */
  readonly values?: ReadonlyArray<number>;
  /** The solution is the start it was given: the solver found nothing better (it may have proved it). */
  readonly isStart?: boolean;
}

function buildModel(buffers: ReadonlyArray<Buffer>, conf: ReadonlyArray<ReadonlyArray<number>>, inp: MipInput): Model | undefined {
  const live = buffers.map((b, i) => i).filter((i) => buffers[i].size > 0 && buffers[i].start < buffers[i].end);
  const align = live.reduce((a, i) => lcm(a, alignOf(buffers[i])), 1);
  // A pinned buffer cannot move with the bands: then nothing is stacked.
  const pinned = live.some((i) => buffers[i].fixedOffset !== undefined);
  const stack = pinned ? [] : live.filter((i) => conf[i].length === live.length - 1 && buffers[i].size % align === 0);
  const inStack = new Set(stack);
  const rest = live.filter((i) => !inStack.has(i));
  const base = stack.reduce((t, i) => t + buffers[i].size, 0);
  const g = gcd(offsetGrain(rest.map((i) => buffers[i])), base);
  const pos = new Map<number, number>(rest.map((i, k) => [i, k]));
  // Offsets are multiples of lcm(alignment, g); in units of g that is lcm / g.
  const coef = rest.map((i) => alignOf(buffers[i]) / gcd(alignOf(buffers[i]), g));
  const pairs: Array<[number, number]> = [];
  for (const i of rest) for (const j of conf[i]) if (i < j && pos.has(j)) pairs.push([pos.get(i) as number, pos.get(j) as number]);
  let ubBytes = inp.upperBound;
  if (inp.capacity !== undefined) ubBytes = Math.min(ubBytes, Math.max(inp.capacity, inp.lowerBound));
  // Units: round the bound down (any peak <= ubBytes is a multiple-of-g peak <= floor(ubBytes / g)).
  const ub = Math.floor((ubBytes - base) / g);
  const lb = Math.max(0, Math.ceil((inp.lowerBound - base) / g));
  if (ub < lb) return undefined;
  return { g, vars: rest, coef, pairs, ub, lb, stack, base };
}

/** The constraint rows in CSR form, shared by both encodings (row <= upper). Columns: P, q_k, z_p. */
interface Csr {
  readonly starts: Int32Array;
  readonly indices: Int32Array;
  readonly values: Float64Array;
  readonly upper: Float64Array;
}

// Typed arrays filled in place: at tens of thousands of pairs, per-row arrays cost more than the copy into WASM.
function matrix(buffers: ReadonlyArray<Buffer>, m: Model): Csr {
  const M = m.ub;
  const n = m.vars.length;
  const rowCount = 2 * m.pairs.length + n;
  const starts = new Int32Array(rowCount + 1);
  const indices = new Int32Array(6 * m.pairs.length + 2 * n);
  const values = new Float64Array(indices.length);
  const upper = new Float64Array(rowCount);
  let r = 0;
  let e = 0;
  const row = (terms: ReadonlyArray<number>, ub: number) => {
    for (let t = 0; t < terms.length; t += 2) (indices[e] = terms[t]), (values[e++] = terms[t + 1]);
    upper[r++] = ub;
    starts[r] = e;
  };
  const size = (k: number) => buffers[m.vars[k]].size / m.g;
  m.pairs.forEach(([i, j], p) => {
    // z = 1: i below j (o_i + s_i <= o_j); z = 0: j below i.
    row([1 + i, m.coef[i], 1 + j, -m.coef[j], 1 + n + p, M], M - size(i));
    row([1 + j, m.coef[j], 1 + i, -m.coef[i], 1 + n + p, -M], -size(j));
  });
  for (let k = 0; k < n; k++) row([1 + k, m.coef[k], 0, -1], -size(k));
  return { starts, indices, values, upper };
}

/** Column bounds in the same order. */
function bounds(buffers: ReadonlyArray<Buffer>, m: Model): { lower: Float64Array; upper: Float64Array } {
  const cols = 1 + m.vars.length + m.pairs.length;
  const lower = new Float64Array(cols);
  const upper = new Float64Array(cols).fill(1);
  lower[0] = m.lb;
  upper[0] = m.ub;
  m.vars.forEach((i, k) => {
    const b = buffers[i];
    const pinned = b.fixedOffset !== undefined ? b.fixedOffset / m.g / m.coef[k] : undefined; // nothing stacked then
    lower[1 + k] = pinned ?? 0;
    upper[1 + k] = pinned ?? Math.max(0, Math.floor((m.ub - b.size / m.g) / m.coef[k]));
  });
  return { lower, upper };
}

/**
 * The incumbent as a start for the MIP: the stack, then the incumbent's other buffers settled, in its
 * order, to the lowest free offsets above it. The stacked bands may sit anywhere in the incumbent,
 * but moving them down breaks no alignment and settling never moves a buffer up, so the start's peak
 * is at most the incumbent's.
 */
function start(buffers: ReadonlyArray<Buffer>, conf: ReadonlyArray<ReadonlyArray<number>>, m: Model, incumbent: ReadonlyArray<number>): Float64Array | undefined {
  const order = [...m.stack, ...[...m.vars].sort((x, y) => incumbent[x] - incumbent[y] || x - y)];
  const offsets = placeAll(buffers, conf, order, 'first');
  const x = new Float64Array(1 + m.vars.length + m.pairs.length);
  const u = m.vars.map((i) => (offsets[i] - m.base) / m.g); // in units above the stack
  let top = m.lb;
  m.vars.forEach((i, k) => {
    x[1 + k] = u[k] / m.coef[k];
    top = Math.max(top, u[k] + buffers[i].size / m.g);
  });
  if (top > m.ub) return undefined;
  x[0] = top;
  m.pairs.forEach(([i, j], p) => (x[1 + m.vars.length + p] = u[i] < u[j] ? 1 : 0));
  return x;
}

async function runHighs(buffers: ReadonlyArray<Buffer>, conf: ReadonlyArray<ReadonlyArray<number>>, m: Model, inp: MipInput, until: number): Promise<Run> {
  const highs = await (highsP ??= loadHighs());
  const a = matrix(buffers, m);
  const cols = bounds(buffers, m);
  const numCols = cols.lower.length;
  const numRows = a.upper.length;
  const { variableType: vt, modelStatus: ms } = highs.constants;
  const model = highs.createModel({
    numCols, numRows,
    colCost: new Float64Array(numCols).fill(1, 0, 1), colLower: cols.lower, colUpper: cols.upper,
    rowLower: new Float64Array(numRows).fill(-highs.infinity), rowUpper: a.upper,
    matrix: { format: 'csr', numRows, numCols, starts: a.starts, indices: a.indices, values: a.values },
    integrality: new Int32Array(numCols).fill(vt.integer).fill(vt.continuous, 0, 1),
  });
  try {
    const x = inp.incumbent && start(buffers, conf, m, inp.incumbent);
    if (x) model.setSolution({ colValue: x });
    // The optimum is a whole number of units: stop once the incumbent is within one of the bound.
    model.options.set({ output_flag: false, mip_rel_gap: 0, mip_abs_gap: 1 - 1e-6, time_limit: limitS(until) });
    const res = model.run();
    const status = res.modelStatus === ms.optimal ? 'Optimal' : res.modelStatus === ms.timeLimit ? 'Time limit reached' : `status ${res.modelStatus}`;
    if (model.info.get('primal_solution_status') !== highs.constants.solutionStatus.feasible) return { status };
    const isStart = x !== undefined && model.getObjectiveValue() > x[0] - 0.5;
    return { status, values: Array.from(model.getSolution().colValue.subarray(1, 1 + m.vars.length)), isStart };
  } finally {
    model.dispose();
  }
}

async function runGlpk(buffers: ReadonlyArray<Buffer>, m: Model, until: number): Promise<Run> {
  const glpk = await (glpkP ??= GLPK());
  const name = (c: number) => (c === 0 ? 'P' : c <= m.vars.length ? `q${c - 1}` : `z${c - 1 - m.vars.length}`);
  const a = matrix(buffers, m);
  const cols = bounds(buffers, m);
  const lp = {
    name: 'dsa',
    objective: { direction: glpk.GLP_MIN, name: 'obj', vars: [{ name: 'P', coef: 1 }] },
    subjectTo: Array.from(a.upper, (ub, r) => ({
      name: `r${r}`,
      vars: Array.from(a.indices.subarray(a.starts[r], a.starts[r + 1]), (c, t) => ({ name: name(c), coef: a.values[a.starts[r] + t] })),
      bnds: { type: glpk.GLP_UP, ub, lb: 0 },
    })),
    bounds: Array.from(cols.lower, (lo, c) => ({ name: name(c), type: lo === cols.upper[c] ? glpk.GLP_FX : glpk.GLP_DB, lb: lo, ub: cols.upper[c] })),
    generals: m.vars.map((_, k) => name(1 + k)),
    binaries: m.pairs.map((_, p) => name(1 + m.vars.length + p)),
  };
  const r = glpk.solve(lp, { msglev: glpk.GLP_MSG_OFF, tmlim: limitS(until), presol: true });
  const st = r.result.status;
  const status = st === glpk.GLP_OPT ? 'Optimal' : st === glpk.GLP_FEAS ? 'Feasible' : `status ${st}`;
  if (st !== glpk.GLP_OPT && st !== glpk.GLP_FEAS) return { status };
  return { status, values: m.vars.map((_, k) => r.result.vars[name(1 + k)] ?? 0) };
}
