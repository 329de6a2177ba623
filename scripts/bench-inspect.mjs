// npm run bench:inspect: wall time of `mc inspect` on the real models, as a user runs it
// (a fresh node process each time, so start-up and imports count). Prints median/min/max of N runs.
import { spawnSync } from 'node:child_process';

const RUNS = Number(process.env.RUNS ?? 11);
const cases = [
  ['hunyuan-video/dit.mc (720x1280x129)', ['inspect', 'examples/hunyuan-video/dit.mc']],
  ['hunyuan-video/vae.mc', ['inspect', 'examples/hunyuan-video/vae.mc']],
  ['memo-gpt/gpt-65b.mc', ['inspect', 'examples/memo-gpt/gpt-65b.mc']],
];

console.log(`mc inspect wall time, ${RUNS} runs each, node ${process.version}`);
console.log('case                                  median    min      max');
for (const [name, args] of cases) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8' });
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    if (r.status !== 0) throw new Error(`${name} failed: ${r.stderr}`);
  }
  times.sort((a, b) => a - b);
  const f = (x) => `${x.toFixed(3)} s`;
  console.log(`${name.padEnd(36)}  ${f(times[Math.floor(times.length / 2)])}  ${f(times[0])}  ${f(times[times.length - 1])}`);
}
