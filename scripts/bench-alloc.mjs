// npm run bench:alloc: the 11 minimalloc "challenging" instances at capacity 1048576.
// For each: best-of greedy (peak, LB/peak) beside the auto solver (search) with a 60 s limit.
// Options: --repeat N (report the median time over N runs), --limit S, --solver NAME,
// --minimize (keep tightening below the capacity until the limit; reports the best peak found).
import { readFileSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { allocate, parseCsv, verify } from '../dist/alloc/index.js';

const { values } = parseArgs({
  options: {
    repeat: { type: 'string', default: '1' },
    limit: { type: 'string', default: '60' },
    solver: { type: 'string', default: 'auto' },
    minimize: { type: 'boolean', default: false },
  },
});
const repeat = Math.max(1, Number(values.repeat));
const limit = Number(values.limit);
const CAP = 1048576;
const dir = new URL('../bench/minimalloc/challenging/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.csv')).sort();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const pct = (lb, peak) => `${((100 * lb) / peak).toFixed(1)}%`;

console.log(`minimalloc challenging suite, capacity ${CAP}, solver ${values.solver}, limit ${limit} s, ${repeat} run(s) each${values.minimize ? ', minimize' : ''}`);
const header = ['instance', 'buffers', 'solved', 'peak', 'lower bound', 'LB/peak', 'seconds', 'solver', 'greedy peak', 'greedy LB/peak', 'greedy s'];
const rows = [];
let solved = 0;
const times = [];
for (const f of files) {
  const { buffers } = parseCsv(readFileSync(new URL(f, dir), 'utf8'), f);
  const g = await allocate({ buffers, capacity: CAP }, { solver: 'greedy', timeLimitS: limit });
  const runs = [];
  for (let r = 0; r < repeat; r++) {
    const s = await allocate({ buffers, capacity: CAP }, { solver: values.solver, timeLimitS: limit, stopAtCapacity: !values.minimize });
    // Independent re-check of every reported layout, capacity included.
    const bad = verify(buffers, s.offsets, { capacity: Math.max(CAP, s.peak) });
    if (bad.length > 0) throw new Error(`${f}: verifier: ${bad[0]}`);
    runs.push(s);
  }
  const secs = median(runs.map((s) => s.seconds));
  const s = runs[0];
  const ok = runs.every((x) => x.withinCapacity);
  if (ok) {
    solved++;
    times.push(secs);
  }
  rows.push([f.split('.')[0], buffers.length, ok ? 'yes' : 'NO', Math.max(...runs.map((x) => x.peak)), s.lowerBound, pct(s.lowerBound, Math.max(...runs.map((x) => x.peak))),
    secs.toFixed(2), s.solver, g.peak, pct(g.lowerBound, g.peak), g.seconds.toFixed(3)]);
  console.log(`  ${f}: ${ok ? 'solved' : 'NOT solved'} peak ${s.peak} in ${secs.toFixed(2)} s (${s.notes.slice(-1)[0] ?? ''})`);
}
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
console.log('');
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
console.log('');
console.log(`solved ${solved}/${files.length} within capacity; time median ${times.length ? median(times).toFixed(2) : '-'} s, max ${times.length ? Math.max(...times).toFixed(2) : '-'} s`);
