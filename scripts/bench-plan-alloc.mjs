// npm run bench:plan-alloc: the memory plans of the two acceptance plans of issue 4 and the
// HunyuanVideo inference plan, laid out by the bi-level allocator. For each: analytic peak, arena,
// lower bound, fragmentation, the caching allocator's reserved bytes, solver, solve seconds and the
// whole planArena call's wall seconds (trace, solve, verification, caching replay; median of
// --repeat N runs, default 3). Every layout is re-checked by the independent verifier; a failure
// aborts the run.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { compileSpec } from '../dist/driver/pipeline.js';
import { loadProfile } from '../dist/hw/profile.js';
import { planTraining } from '../dist/plan/plan.js';
import { planInference } from '../dist/plan/infer.js';
import { planArena } from '../dist/plan/arena.js';

const { values } = parseArgs({ options: { repeat: { type: 'string', default: '3' }, alloc: { type: 'string', default: 'auto' } } });
const repeat = Math.max(1, Number(values.repeat));
const readDisk = (p) => { try { return readFileSync(p, 'utf8'); } catch { return { error: 'no such file' }; } };
const load = (p) => {
  const r = compileSpec(p, readFileSync(p, 'utf8'), {}, readDisk);
  if (!r.graph) throw new Error(`${p} did not elaborate`);
  return r.graph;
};
const cases = [
  { name: 'gpt-7b 1M, 8 x a800, tp 8, memo', path: 'examples/memo-gpt/gpt-7b.mc', hw: 'a800', par: { tp: 8, sp: true, ulysses: 1, cp: 1, dp: 1, zero: 0 }, strategy: 'memo' },
  { name: 'hunyuan-video dit 720x1280x129, 8 x h100-sxm, ulysses 8, zero 3', path: 'examples/hunyuan-video/dit.mc', hw: 'h100-sxm', par: { tp: 1, sp: false, ulysses: 8, cp: 1, dp: 1, zero: 3 }, strategy: 'auto' },
  { name: 'hunyuan-video dit 720x1280x129 inference, 8 x h100-sxm, ulysses 8', path: 'examples/hunyuan-video/dit.mc', hw: 'h100-sxm', par: { tp: 1, sp: false, ulysses: 8, cp: 1, dp: 1, zero: 0 } },
];
const gib = (b) => `${(b / 2 ** 30).toFixed(3)} GiB`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
console.log(`bi-level allocation of plan traces, --alloc ${values.alloc}, ${repeat} run(s) each, Node ${process.version}`);
const rows = [['plan', 'strategy', 'buffers', 'blocks/solves', 'analytic peak', 'arena', 'lower bound', 'fragmentation', 'caching allocator', 'solver', 'solve s (median)', 'min', 'max', 'planArena wall s (median)']];
for (const c of cases) {
  const plan = c.strategy ? planTraining(load(c.path), loadProfile(c.hw), c.par, c.strategy) : planInference(load(c.path), loadProfile(c.hw), c.par, false);
  if ('error' in plan) throw new Error(plan.error);
  const runs = [];
  const walls = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    const a = await planArena(plan, { solver: values.alloc, verify: true });
    walls.push((performance.now() - t0) / 1000);
    if (a.violations.length > 0) throw new Error(`${c.name}: verifier: ${a.violations[0]}`);
    runs.push(a);
  }
  const a = runs[0];
  const secs = runs.map((r) => r.allocSeconds);
  rows.push([c.name, plan.mode === 'train' ? plan.plan.strategy : 'infer', a.buffers.length, `${a.blocks}/${a.level1Solved}`, gib(plan.mode === 'train' ? plan.plan.peakBytes : plan.peakBytes),
    gib(a.arenaBytes), gib(a.lowerBoundBytes), `${(100 * a.fragmentation).toFixed(3)}%`, gib(a.cachingAllocatorBytes), a.allocSolver,
    median(secs).toFixed(2), Math.min(...secs).toFixed(2), Math.max(...secs).toFixed(2), median(walls).toFixed(2)]);
}
const w = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
for (const r of rows) console.log(`| ${r.map((x, i) => String(x).padEnd(w[i])).join(' | ')} |`);
