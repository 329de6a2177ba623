// Cross-checks the exact search against the two MIP solvers on traces where greedy misses the bound,
// and the MIP's time budget: what it skips, what it stacks, how it reports a fallback.
import { describe, expect, it } from '@jest/globals';
import { type Buffer, alignedLowerBound, allocate, greedy, lowerBound, verify } from '../src/alloc/index.js';
import { mipSolve, mipTimeLimitS } from '../src/alloc/mip.js';
import { randomTrace } from '../src/alloc/random.js';

// The first traces (from seed 1) where greedy's peak is above the lower bound: the interesting ones.
function hardSeeds(count: number, maxBuffers: number): number[] {
  const out: number[] = [];
  for (let seed = 1; out.length < count; seed++) {
    const b = randomTrace(seed * 7919, { maxBuffers });
    if (greedy(b).peak > lowerBound(b)) out.push(seed * 7919);
  }
  return out;
}

describe('MIP and search agree on small traces', () => {
  const seeds = hardSeeds(40, 9);
  it.each(['highs', 'glpk'] as const)('%s: verified, never worse than greedy, same optimum as search', async (which) => {
    const use = which === 'glpk' ? seeds.slice(0, 15) : seeds;
    let compared = 0;
    for (const seed of use) {
      const buffers = randomTrace(seed, { maxBuffers: 9 });
      const g = greedy(buffers);
      const m = await allocate({ buffers }, { solver: which, timeLimitS: 3 });
      const s = await allocate({ buffers }, { solver: 'search', timeLimitS: 3 });
      for (const r of [m, s]) {
        expect(verify(buffers, r.offsets)).toEqual([]);
        expect(r.peak).toBeLessThanOrEqual(g.peak);
        expect(alignedLowerBound(buffers)).toBeLessThanOrEqual(r.peak); // a bound, with alignments (15% here)
      }
      if (m.optimal && s.optimal) {
        expect([seed, s.peak]).toEqual([seed, m.peak]);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(use.length / 2);
  }, 60_000);
});

describe('MIP time budget', () => {
  it('the solver gets the time left less what no time limit covers, and nothing when that is over half', () => {
    expect(mipTimeLimitS('highs', 0, 0.08)).toBeUndefined(); // not even a tiny model is started
    expect(mipTimeLimitS('highs', 100, 0.3) as number).toBeGreaterThan(0.2); // a small one gets nearly all of it
    const highs = mipTimeLimitS('highs', 10_000, 2) as number;
    expect(highs).toBeGreaterThan(1);
    expect(highs).toBeLessThan(1.75);
    expect(mipTimeLimitS('highs', 10_000, 3)).toBeCloseTo(highs + 1, 9); // the rest of the time goes to the solve
    expect(mipTimeLimitS('glpk', 10_000, 2) as number).toBeLessThan(highs); // glpk.js's model costs more
    expect(mipTimeLimitS('highs', 200_000, 2)).toBeUndefined();
  });

  // 600 buffers alive for 300 steps each: 134,550 overlapping pairs, none overlapping all others.
  const big: Buffer[] = Array.from({ length: 600 }, (_, i) => ({ id: `b${i}`, size: 1 + ((i * 7919) % 97), start: i, end: i + 300 }));

  it('a model whose setup would not fit is not built; the incumbent stays and the notes say why', async () => {
    const g = greedy(big);
    expect(g.peak).toBeGreaterThan(alignedLowerBound(big)); // so a MIP is wanted
    const r = await mipSolve(big, { which: 'highs', lowerBound: lowerBound(big), upperBound: g.peak, incumbent: g.offsets, deadline: performance.now() + 3000 });
    expect(r.offsets).toBeUndefined();
    expect(r.peak).toBe(g.peak);
    expect(r.note).toMatch(/^highs: skipped: 134550 order binaries need more setup than half of the [\d.]+ s left$/);
    const s = await allocate({ buffers: big }, { solver: 'highs', timeLimitS: 3 });
    expect(s.solver).toBe('greedy');
    expect(s.notes.at(-1)).toMatch(/^highs: skipped: 134550 order binaries/);
    expect(verify(big, s.offsets)).toEqual([]);
  });

  it('buffers that overlap all others are stacked below, and HiGHS still proves the same optimum as the search', async () => {
    let compared = 0;
    for (const seed of hardSeeds(10, 9)) {
      const trace = randomTrace(seed, { maxBuffers: 9 });
      const span = Math.max(...trace.map((b) => b.end));
      // Sizes that are multiples of every alignment (at most 8): stacking them loses nothing.
      const buffers = [...trace, { id: 'w', size: 16, start: 0, end: span }, { id: 'v', size: 8, start: 0, end: span, align: 8 }];
      const m = await allocate({ buffers }, { solver: 'highs', timeLimitS: 3 });
      const s = await allocate({ buffers }, { solver: 'search', timeLimitS: 3 });
      expect(verify(buffers, m.offsets)).toEqual([]);
      expect(m.peak).toBeLessThanOrEqual(greedy(buffers).peak);
      const ran = m.notes.find((n) => n.startsWith('highs:'));
      if (ran) expect(Number(/\((\d+) buffers stacked below\)/.exec(ran)?.[1])).toBeGreaterThanOrEqual(2);
      if (m.optimal && s.optimal) {
        expect([seed, m.peak]).toEqual([seed, s.peak]);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(5);
  }, 60_000);

  it('the aligned bound proves a layout optimal that the plain bound cannot', async () => {
    // Two 100-byte buffers aligned to 64 at once: the upper one starts at 128 at the earliest.
    const buffers: Buffer[] = [{ id: 'a', size: 100, start: 0, end: 2, align: 64 }, { id: 'b', size: 100, start: 1, end: 3, align: 64 }];
    expect(lowerBound(buffers)).toBe(200);
    expect(alignedLowerBound(buffers)).toBe(228);
    const s = await allocate({ buffers }, { solver: 'highs', timeLimitS: 3 });
    expect(s.peak).toBe(228);
    expect(s.optimal).toBe(true);
    expect(s.solver).toBe('greedy'); // proven at once: no MIP ran
    expect(s.notes.some((n) => n.startsWith('highs'))).toBe(false);
  });
});
