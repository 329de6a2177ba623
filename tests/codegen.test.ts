// The CPU backend against the reference interpreter on the tiny models, the arena plan against one
// buffer per tensor, the golden emitted code, hostile identifiers, and nvcc compile-only checks.
import { describe, expect, test, beforeAll } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileCommand } from '../src/cli/compile.js';
import { emitProgram, tensorBytes } from '../src/codegen/emit.js';
import { type ArenaMode, layoutOf, planArena, solveArena } from '../src/codegen/plan.js';
import { evaluate, relError, type EvalDType } from '../src/eval/interp.js';
import { randomInputs, randomWeights } from '../src/eval/random.js';
import { readSafetensors, writeSafetensors } from '../src/safetensors/index.js';
import { frontEnd, load } from './helpers.js';

const TMP = mkdtempSync(join(tmpdir(), 'mc-codegen-'));
const quiet = async <T>(f: () => Promise<T>): Promise<T> => {
  const w = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try { return await f(); } finally { process.stdout.write = w; }
};
const hasNvcc = spawnSync('nvcc', ['--version']).status === 0;

/** Builds the CPU program, runs it on seeded weights/inputs, returns its outputs and the eval oracle's. */
const cache = new Map<string, ReturnType<typeof runCpuOnce>>();
function runCpu(spec: string, dtype: EvalDType, arena: ArenaMode = 'planned', streamWeights = false) {
  const key = `${spec} ${dtype} ${arena} ${streamWeights}`;
  if (!cache.has(key)) cache.set(key, runCpuOnce(spec, dtype, arena, streamWeights));
  return cache.get(key)!;
}
async function runCpuOnce(spec: string, dtype: EvalDType, arena: ArenaMode, streamWeights: boolean) {
  const name = `${spec.replace(/\W/g, '_')}_${dtype}_${arena}${streamWeights ? '_streamed' : ''}`;
  const dir = join(TMP, name);
  const args = [spec, '--backend', 'cpu', '--dtype', dtype === 'fp32' ? 'fp32' : 'declared', '--arena', arena, ...(streamWeights ? ['--offload-weights'] : []), '-o', dir];
  expect(await quiet(() => compileCommand(args))).toBe(0);
  const g = load(spec);
  const w = randomWeights(g, 1);
  const i = randomInputs(g, 2);
  writeSafetensors(join(TMP, `${name}.w`), w);
  writeSafetensors(join(TMP, `${name}.i`), i);
  const log = execFileSync(join(dir, 'model'), ['--weights', join(TMP, `${name}.w`), '--inputs', join(TMP, `${name}.i`), '--out', join(TMP, `${name}.o`)], { env: { ...process.env, OMP_NUM_THREADS: '2' } }).toString();
  const streamed = streamWeights ? 'weights: streamed from pinned host memory through 2 x \\d+-byte device slots\\n' : '';
  expect(log).toMatch(new RegExp(`^arena: \\d+ bytes \\(activations\\), \\d+ bytes \\(weights\\)\\n${streamed}forward: [\\d.]+ ms`));
  return { out: readSafetensors(join(TMP, `${name}.o`)).tensors, ref: evaluate(g, w, i, dtype).outputs, bytes: readFileSync(join(TMP, `${name}.o`)) };
}

// Tolerances: fp32 storage with fp64 math on both sides agrees to the last fp32 bit in practice;
// 1e-5 (the acceptance bound) leaves room for libm differences. bf16: one ulp (2^-8) flips at
// rounding boundaries propagate, 2e-2 is the acceptance bound.
describe.each([
  ['examples/tiny/dit.mc'],
  ['examples/tiny/vae.mc'],
  ['examples/tiny/gpt.mc'],
  ['tests/fixtures/wide-head.mc'],
])('CPU backend matches mc eval: %s', (spec) => {
  test.each([['fp32', 1e-5], ['bf16', 2e-2]] as const)('%s', async (dtype, tol) => {
    const { out, ref } = await runCpu(spec, dtype);
    for (const [k, r] of ref) {
      expect(out.get(k)!.shape).toEqual(r.shape);
      expect(relError(out.get(k)!.data, r.data)).toBeLessThanOrEqual(tol);
    }
  });
});

test.each(['examples/tiny/dit.mc', 'examples/tiny/vae.mc'])('the planned shared arena gives bit-identical outputs to one buffer per tensor (%s)', async (spec) => {
  const a = await runCpu(spec, 'bf16', 'sequential');
  const b = await runCpu(spec, 'bf16', 'planned');
  expect(a.bytes.equals(b.bytes)).toBe(true);
  // The greedy layout too (built for the small DiT only: each VAE build takes ~30 s on 2 cores).
  if (spec.includes('dit')) expect(a.bytes.equals((await runCpu(spec, 'bf16', 'greedy')).bytes)).toBe(true);
  // The planner's layout is verified, never worse than greedy, and far below one slot per tensor.
  const g = load(spec);
  const bytesOf = tensorBytes(g);
  const seq = planArena(g, bytesOf, 'sequential').total;
  const greedy = planArena(g, bytesOf, 'greedy').total;
  const solved = await solveArena(g, bytesOf, 5);
  expect(planArena(g, bytesOf, 'planned', solved).total).toBe(solved.total);
  expect(solved.total).toBeLessThanOrEqual(greedy);
  expect(greedy).toBeLessThan(seq / 2);
});

// --offload-weights: the same program with its weights in host memory, copied layer by layer into
// two slots. The tiny GPT's tied embedding is read by its first and last layers (copied twice).
test.each(['examples/tiny/gpt.mc', 'examples/tiny/dit.mc'])('weights streamed layer by layer give bit-identical outputs (%s)', async (spec) => {
  const a = await runCpu(spec, 'bf16');
  const b = await runCpu(spec, 'bf16', 'planned', true);
  expect(b.bytes.equals(a.bytes)).toBe(true);
  const g = load(spec);
  const e = emitProgram(g, { streamWeights: true });
  expect(e.slotBytes).toBeGreaterThan(0);
  expect(2 * e.slotBytes).toBeLessThan(e.plan.weightTotal * (spec.includes('gpt') ? 1.1 : 1));
  expect(e.source).toMatch(/#define MC_STREAM_WEIGHTS 1\nstatic const size_t kSlotBytes = \d+;\nstatic const int kLayerWeightStart\[\d+\] = \{0, /);
});

// The 720p DiT (not built): its single blocks' linear1 [L, 21504] is computed as q, k, v and the
// MLP input directly (fuse.ts), the [img; txt] concatenations are made in place (alias.ts), and
// the planner meets the live-bytes bound: 7.49 GiB of activations (10.90 GiB before, greedy).
test('the 720p DiT program: linears by column block, concatenations in place, arena at its bound', async () => {
  const g = load('examples/hunyuan-video/dit.mc');
  const bytesOf = tensorBytes(g);
  const { fusion, aliases } = layoutOf(g, bytesOf);
  const linear1 = g.ops.filter((op) => op.kind === 'linear' && g.tensors[op.inputs[1]].name.endsWith('linear1.weight'));
  expect(linear1).toHaveLength(40);
  for (const op of linear1) expect(fusion.blocks.get(op.id)?.map((b) => b.cols)).toEqual([3072, 3072, 3072, 12288]);
  const inPlace = g.ops.filter((op) => op.kind === 'concat' && op.inputs.some((x) => aliases.get(x)?.root === op.outputs[0]));
  expect(inPlace.length).toBeGreaterThan(0);
  const solved = await solveArena(g, bytesOf, 10);
  expect(solved.note).toMatch(/optimal/);
  expect(solved.total).toBeLessThan(7.5 * 2 ** 30);
}, 60_000);

test('the program checks segment offsets it loads, as mc eval does (one line, exit 1)', async () => {
  await runCpu('examples/tiny/dit.mc', 'bf16');
  const name = 'examples_tiny_dit_mc_bf16_planned';
  const ins = readSafetensors(join(TMP, `${name}.i`)).tensors;
  ins.get('cu_seqlens')!.data[1] = 45; // past B x L = 40
  writeSafetensors(join(TMP, 'bad-segs.i'), ins);
  const r = spawnSync(join(TMP, name, 'model'), ['--weights', join(TMP, `${name}.w`), '--inputs', join(TMP, 'bad-segs.i')], { encoding: 'utf8' });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/^error: .*bad-segs\.i: input 'cu_seqlens' must be non-decreasing offsets within \[0, 40\]; entry 1 is 45\n$/);
});

test('an external arena plan that aliases live tensors is refused', () => {
  const g = load('examples/tiny/dit.mc');
  const bytesOf = tensorBytes(g);
  const ids = g.tensors.filter((t) => t.kind !== 'weight').map((t) => t.id);
  const total = Math.max(...ids.map(bytesOf)) + 256;
  expect(() => planArena(g, bytesOf, 'planned', { total, offsets: Object.fromEntries(ids.map((id) => [String(id), 0])) })).toThrow(/overlaps live tensors/);
});

test('golden: emitted code for the tiny DiT', () => {
  const r = frontEnd('examples/tiny/dit.mc');
  const src = emitProgram(r.graph!, { sources: r.sources }).source;
  expect(emitProgram(r.graph!, { sources: r.sources }).source).toBe(src); // deterministic
  expect(src).toMatch(/\/\/ %\d+ = rope\(%\d+\) from examples\/hunyuan-video\/dit\.mc:\d+/);
  const path = 'tests/golden/codegen/tiny-dit.cu';
  if (process.env.UPDATE_GOLDEN || !existsSync(path)) {
    mkdirSync('tests/golden/codegen', { recursive: true });
    writeFileSync(path, src);
  }
  expect(src).toBe(readFileSync(path, 'utf8'));
});

describe('hostile identifiers', () => {
  const dir = join(TMP, 'hostile');
  const file = join(dir, 'we"ird \\*? \u00fc.mc');
  beforeAll(() => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, [
      '# C++ keywords and runtime names as identifiers; the file name has a quote, a backslash, */ and non-ASCII',
      'dim int = 4',
      'block namespace(main) {',
      '  return linear["delete.new"](main, int)',
      '}',
      'model class {',
      '  input P: fp32[2, int]',
      '  input kTensors: fp32[2, int]',
      '  P2 = namespace["operator"](P) + kTensors',
      '  output forward = silu(P2)',
      '}',
      '',
    ].join('\n'));
  });
  test('builds and runs', async () => {
    expect(await quiet(() => compileCommand([file, '--backend', 'cpu', '-o', join(dir, 'out')]))).toBe(0);
    const log = execFileSync(join(dir, 'out', 'model'), ['--random-weights', '1']).toString();
    expect(log).toMatch(/forward:/);
    const src = readFileSync(join(dir, 'out', 'model.cu'), 'utf8');
    expect(src).not.toMatch(/[^\x09\x0a\x20-\x7e]/); // pure ASCII
  });
});

describe('nvcc compile only', () => {
  (hasNvcc ? test : test.skip)('tiny VAE for sm_90 (fp16 storage, conv, frame attention)', async () => {
    const dir = join(TMP, 'vae-cuda');
    expect(await quiet(() => compileCommand(['examples/tiny/vae.mc', '--backend', 'cuda', '--no-build', '-o', dir]))).toBe(0);
    execFileSync('nvcc', ['-std=c++17', '-O2', '-arch=sm_90', '--extended-lambda', '-diag-suppress', '177,550', `-I${join(dir, 'runtime')}`, '-c', join(dir, 'model.cu'), '-o', join(dir, 'model.o')]);
  }, 120_000);
  // The full 13B DiT at 720x1280x129 (1,993 ops): its time is recorded in docs/PERF-codegen.md.
  (hasNvcc && !process.env.MC_SKIP_SLOW ? test : test.skip)('full 13B DiT for sm_90', async () => {
    const dir = join(TMP, 'dit-13b');
    expect(await quiet(() => compileCommand(['examples/hunyuan-video/dit.mc', '--backend', 'cuda', '--no-build', '-o', dir]))).toBe(0);
    execFileSync('nvcc', ['-std=c++17', '-O2', '-arch=sm_90', '--extended-lambda', '-diag-suppress', '177,550', `-I${join(dir, 'runtime')}`, '-c', join(dir, 'model.cu'), '-o', join(dir, 'model.o')]);
  }, 170_000);
});
