// Cases of `mc plan` beyond the acceptance tests (issue 3): host memory of streamed weights,
// ZeRO-1's parameter all-gather, Megatron-SP's token split, --sp / --no-sp, the smallest change
// of an infeasible request (another strategy first; a change that can be pasted as printed),
// MEMO's notes, flags that only apply with others, and the consistency of every plan's numbers.
import { describe, expect, it } from '@jest/globals';
import { type Captured, runCommand } from './capture.js';
import { load } from './helpers.js';
import { planCommand } from '../src/cli/plan.js';
import { loadProfile } from '../src/hw/profile.js';
import { planJson } from '../src/plan/format.js';
import { planInference } from '../src/plan/infer.js';
import { type TrainingPlan, planTraining } from '../src/plan/plan.js';
import type { Parallel, Strategy } from '../src/plan/types.js';

const GPT7B = 'examples/memo-gpt/gpt-7b.mc';
const TINY_GPT = 'examples/tiny/gpt.mc';
const TINY_DIT = 'examples/tiny/dit.mc';
const ONE: Parallel = { tp: 1, sp: false, ulysses: 1, cp: 1, dp: 1, zero: 0 };
const a800 = loadProfile('a800');
const h100 = loadProfile('h100-sxm');

const run = (argv: string[]): Promise<Captured> => runCommand(planCommand, argv);

function train(path: string, par: Parallel, strategy: Strategy | 'auto', set?: Record<string, number>): TrainingPlan {
  const p = planTraining(load(path, { set }), a800, par, strategy);
  if ('error' in p) throw new Error(p.error);
  return p;
}

describe('inference with --offload-weights', () => {
  it('reports the streamed block weights of every GPU of the node as host memory', async () => {
    const r = await run([TINY_DIT, '--hw', 'h100-sxm', '--mode', 'infer', '--offload-weights', '--gpus', '2', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { cpuBytesPerNode: number; breakdown: { weights: number }; layers: { offloadBytes: number }[] };
    const streamed = j.layers.reduce((s, l) => s + l.offloadBytes, 0);
    expect(streamed).toBeGreaterThan(0);
    // Two GPUs on one node, each with its own pinned copy; not the GPU-resident remainder.
    expect(j.cpuBytesPerNode).toBe(2 * streamed);
    expect(j.cpuBytesPerNode).not.toBe(j.breakdown.weights);
    const text = await run([TINY_DIT, '--hw', 'h100-sxm', '--mode', 'infer', '--offload-weights']);
    expect(text.out).toMatch(/^host memory {2}\d+\.\d\d GiB per node of pinned block weights/m);
  });
  it('does not fit when the node cannot pin the streamed weights', () => {
    const g = load(TINY_DIT);
    const tiny = { ...h100, node: { ...h100.node, cpuMemoryBytes: 1024 } };
    const p = planInference(g, tiny, ONE, true);
    if ('error' in p) throw new Error(p.error);
    expect(p.peakBytes).toBeLessThan(p.capacityBytes);
    expect(p.cpuFits).toBe(false);
    expect(p.fits).toBe(false);
  });
  it('says so when a spec has no repeated blocks to stream', async () => {
    const r = await run(['examples/tiny/vae.mc', '--hw', 'a800', '--mode', 'infer', '--offload-weights']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^note {9}no repeated blocks to stream: every weight stays resident$/m);
  });
});

describe('data parallel communication', () => {
  it('ZeRO-1 all-gathers the updated parameters after the step, as ZeRO-2 does', () => {
    const par = (zero: 0 | 1 | 2): Parallel => ({ tp: 8, sp: true, ulysses: 1, cp: 1, dp: 2, zero });
    const [z0, z1, z2] = ([0, 1, 2] as const).map((z) => train(GPT7B, par(z), 'none', { seq: 65536 }).plan);
    expect(z0.exposedCommSec).toBe(0); // the gradient all-reduce hides under the backward
    expect(z1.exposedCommSec).toBeGreaterThan(0);
    expect(z1.exposedCommSec).toBeCloseTo(z2.exposedCommSec, 12);
  });
  it('notes a ZeRO stage that has no group to shard over', () => {
    const p = train(TINY_GPT, { ...ONE, tp: 2, sp: true, zero: 3 }, 'none');
    expect(p.plan.notes).toContain('--zero 3 shards nothing: its group (dp x ulysses x cp) is 1 GPU');
    expect(p.plan.breakdown.weights).toBe(train(TINY_GPT, { ...ONE, tp: 2, sp: true }, 'none').plan.breakdown.weights);
  });
});

describe('Megatron sequence parallelism', () => {
  it('needs the token count to divide by tp, and --no-sp plans tensor parallelism without it', async () => {
    const g = load(GPT7B, { set: { seq: 12 } });
    const bad = planTraining(g, a800, { ...ONE, tp: 8, sp: true }, 'none');
    expect('error' in bad && bad.error).toMatch(/has 12 tokens, not divisible by tp x ulysses x cp = 8/);
    const ok = planTraining(g, a800, { ...ONE, tp: 8, sp: false }, 'none');
    if ('error' in ok) throw new Error(ok.error);
    expect(Number.isInteger(ok.plan.peakBytes)).toBe(true);
    expect((await run([GPT7B, '--hw', 'a800', '--tp', '8', '--set', 'seq=12'])).code).toMatch(/^usage: .*not divisible by tp x ulysses x cp = 8/);
    const r = await run([TINY_GPT, '--hw', 'a800', '--tp', '2', '--no-sp', '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as { parallel: Parallel }).parallel).toMatchObject({ tp: 2, sp: false });
    const withSp = JSON.parse((await run([TINY_GPT, '--hw', 'a800', '--tp', '2', '--json'])).out) as { parallel: Parallel; peakBytes: number };
    expect(withSp.parallel.sp).toBe(true);
    // Without SP the norms' and the residuals' activations are replicated over tp, so more memory.
    expect((JSON.parse(r.out) as { peakBytes: number }).peakBytes).toBeGreaterThan(withSp.peakBytes);
  });
  it('refuses --sp without --tp > 1 instead of dropping it', async () => {
    expect((await run([TINY_GPT, '--hw', 'a800', '--sp'])).code).toMatch(/^usage: --sp needs --tp > 1/);
  });
});

describe('the smallest change that fits', () => {
  it('is another strategy on the same GPUs when the requested one does not fit', async () => {
    const r = await run([GPT7B, '--hw', 'a800', '--gpus', '8', '--tp', '8', '--strategy', 'none']);
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/with strategy none .* smallest change that fits: --strategy memo \(same 8 GPUs\)$/m);
  });
  it('names --gpus with a parallel degree, so the change pasted after the flags plans and fits', async () => {
    const argv = [GPT7B, '--hw', 'a800', '--gpus', '1', '--set', 'seq=65536'];
    const r = await run(argv);
    expect(r.code).toBe(1);
    const m = /smallest change that fits: (.*?) \((\d+) GPUs\)$/m.exec(r.err);
    expect(m).not.toBeNull();
    expect(m![1]).toContain(`--gpus ${m![2]}`);
    const again = await run([...argv, ...m![1].split(' ')]);
    expect(again.code).toBe(0);
  });
  it('is --tile auto for a video decoder that does not fit whole, and that plan fits', async () => {
    const argv = ['examples/hunyuan-video/vae.mc', '--model', 'decoder', '--hw', 'h100-sxm', '--gpus', '1', '--mode', 'infer'];
    const r = await run(argv);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/smallest change that fits: --tile auto \(same GPU; tiles of \d+x\d+x\d+\)$/m);
    expect((await run([...argv, '--tile', 'auto'])).code).toBe(0);
  });
});

describe('MEMO notes', () => {
  it('claims a CPU-memory limit on alpha only when the host copies fill CPU memory', () => {
    const g = load('examples/hunyuan-video/dit.mc');
    const p = planTraining(g, a800, { ...ONE, ulysses: 8, zero: 3 }, 'memo');
    if ('error' in p) throw new Error(p.error);
    expect(p.plan.cpuBytesPerNode).toBeLessThan(0.99 * a800.node.cpuMemoryBytes);
    expect(p.plan.notes.filter((n) => /by CPU memory/.test(n))).toEqual([]);
    // At 1M tokens gpt-7b's copies do fill the 2 TiB, and the note says so.
    const full = train(GPT7B, { ...ONE, tp: 8, sp: true }, 'memo');
    expect(full.plan.notes.some((n) => /^Block: alpha limited to 0\.\d+ by CPU memory/.test(n))).toBe(true);
    expect(full.plan.cpuBytesPerNode).toBeGreaterThan(0.99 * a800.node.cpuMemoryBytes);
  });
});

describe('flags and formatting', () => {
  it('refuses tile options without --tile, and echoes a bad overlap as given', async () => {
    expect((await run([TINY_GPT, '--hw', 'a800', '--tile-budget', '3'])).code).toBe('usage: --tile-budget applies with --tile auto|FxHxW');
    expect((await run(['examples/tiny/vae.mc', '--hw', 'a800', '--mode', 'infer', '--tile', 'auto', '--tile-overlap', 'abc'])).code)
      .toBe("usage: --tile-overlap must be in [0, 1), got 'abc'");
  });
  it('prints a sub-millisecond step time with significant digits, not 0.0000', async () => {
    const r = await run([TINY_GPT, '--hw', 'h100-sxm', '--mode', 'infer']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^step time {4}[1-9]\.\d\de-\d s/m);
  });
});

describe('every plan is self-consistent', () => {
  // A spread of models, layouts and strategies; each plan's JSON must agree with itself.
  const cases: [string, Parallel, Record<string, number>][] = [
    [GPT7B, { tp: 8, sp: true, ulysses: 1, cp: 1, dp: 1, zero: 0 }, { seq: 32768 }],
    [GPT7B, { tp: 2, sp: false, ulysses: 1, cp: 4, dp: 1, zero: 1 }, { seq: 16384 }],
    [GPT7B, { tp: 1, sp: false, ulysses: 4, cp: 1, dp: 2, zero: 3 }, { seq: 8192, batch: 2 }],
    [TINY_DIT, { tp: 2, sp: true, ulysses: 1, cp: 1, dp: 2, zero: 2 }, {}],
    ['examples/hunyuan-video/text-encoder.mc', { tp: 8, sp: false, ulysses: 1, cp: 1, dp: 1, zero: 0 }, {}],
  ];
  it.each(cases)('%s %j %j', (path, par, set) => {
    const g = load(path, { set });
    const plans = [...(['none', 'selective', 'full-recompute', 'memo'] as const).map((s) => planTraining(g, a800, par, s)), planInference(g, a800, { ...par, zero: 0 }, true)];
    for (const p of plans) {
      if ('error' in p) throw new Error(p.error);
      const j = planJson(p) as { breakdown: Record<string, number>; peakBytes: number; capacityBytes: number; fits: boolean; mfu: number;
        stepTimeSec: number; tokensPerSec: number; alpha: Record<string, number> | null; schedule: Record<string, [string, number, number][]>; layers: { alpha: number | null }[] };
      expect(Object.values(j.breakdown).reduce((s, x) => s + x, 0)).toBeCloseTo(j.peakBytes, 0);
      if (j.fits) expect(j.peakBytes).toBeLessThanOrEqual(j.capacityBytes);
      expect(j.mfu).toBeGreaterThan(0);
      expect(j.mfu).toBeLessThanOrEqual(1);
      expect(j.tokensPerSec * j.stepTimeSec).toBeCloseTo(p.tokens, 3);
      for (const a of [...Object.values(j.alpha ?? {}), ...j.layers.map((l) => l.alpha).filter((a) => a !== null)]) {
        expect(a).toBeGreaterThanOrEqual(0);
        expect(a).toBeLessThanOrEqual(1);
      }
      for (const entries of Object.values(j.schedule))
        entries.forEach(([, start, end], i) => {
          expect(end).toBeGreaterThanOrEqual(start);
          if (i > 0) expect(start).toBeGreaterThanOrEqual(entries[i - 1][2] - 1e-12);
        });
      expect(j.schedule.compute.at(-1)![2]).toBeCloseTo(j.stepTimeSec, 9);
    }
  });
});

describe('the MFU line', () => {
  it('names the convention, and explains a full-square figure over 100%', async () => {
    const causal = await run([GPT7B, '--hw', 'a800', '--gpus', '8', '--tp', '8', '--mode', 'infer', '--set', 'seq=1048576']);
    expect(causal.out).toMatch(/^MFU +\d+\.\d% \(attention FLOPs as the IR counts them: causal = half the square .*\); full-square attention: 1\d\d\.\d%, over 100% because it counts the masked half that is never computed$/m);
    const full = await run([TINY_DIT, '--hw', 'a800', '--gpus', '1', '--mode', 'infer']);
    expect(full.out).toMatch(/^MFU +\d+\.\d% \(no causal attention: both attention conventions agree\)$/m);
  });
});

describe('inference that does not fit', () => {
  it('is told --offload-weights first when streaming the weights fits on the same GPU', async () => {
    const r = await run(['examples/hunyuan-video/dit.mc', '--hw', 'a800', '--gpus', '1', '--mode', 'infer', '--cfg', '--set', 'frames=513']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/smallest change that fits: --offload-weights \(same GPU\)$/m);
  });
  it('a tile over --tile-budget reports fits false in the JSON, as its exit code says', async () => {
    const r = await run(['examples/hunyuan-video/vae.mc', '--model', 'decoder', '--hw', 'h100-sxm', '--gpus', '1', '--mode', 'infer', '--tile', '65x256x256', '--tile-budget', '2', '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as { fits: boolean; tiling: { fits: boolean } };
    expect(j.fits).toBe(false);
    expect(j.tiling.fits).toBe(false);
  });
});
