// Cross-checks the exact search against the two MIP solvers on traces where greedy misses the bound.
import { describe, expect, it } from '@jest/globals';
import { allocate, greedy, lowerBound, verify } from '../src/alloc/index.js';
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
      }
      if (m.optimal && s.optimal) {
        expect([seed, s.peak]).toEqual([seed, m.peak]);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(use.length / 2);
  }, 60_000);
});
