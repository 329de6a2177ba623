// Exact FLOP counts past 2^53: every expected value is computed here with BigInt from the model's
// dims (closed forms, not the op table), and `mc inspect --json` must print all its digits.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { exactModelStats, exactOpCost, modelStats, opCost } from '../src/analysis/cost.js';
import type { Graph } from '../src/ir/types.js';
import { toJson } from '../src/cli/inspect.js';
import { fromText, load } from './helpers.js';

const GPT_65B = 'examples/memo-gpt/gpt-65b.mc';
const TWO_53 = 2n ** 53n;
// 2^24 - 1 tokens, batch 3: the totals have few factors of 2 (h = 2^13 gives 2^14), so their odd
// part passes 2^53 and no number holds them. (At seq=2^20 the total is a multiple of 2^34.)
const ODD = { set: { seq: 16_777_215, batch: 3 } };

/**
 * Forward FLOPs of gpt.mc from its dims: per layer 24*B*s*h^2 (qkv 6, proj 2, fc1 8, fc2 8) plus
 * causal attention 4*B*s^2*h/2, then the tied LM head 2*B*s*h*V.
 */
function gptFlops(g: Graph): { layer: bigint; total: bigint } {
  const [B, s, L, h, V] = ['batch', 'seq', 'layers', 'hidden', 'vocab'].map((d) => BigInt(g.dims[d]));
  const layer = 24n * B * s * h * h + 2n * B * s * s * h;
  return { layer, total: L * layer + 2n * B * s * h * V };
}

function inspectJson(...args: string[]): string {
  const r = spawnSync(process.execPath, ['dist/cli.js', 'inspect', ...args, '--json'], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  return r.stdout;
}

describe('exact forward FLOPs of the MEMO GPTs', () => {
  it('gpt-65b at seq=1048576 does exactly 1,577,123,278,265,253,888 forward FLOPs', () => {
    const g = load(GPT_65B, { set: { seq: 1_048_576 } });
    const s = exactModelStats(g);
    // 80 * (24 * 2^20 * 8192^2 + 2 * 2^40 * 8192) + 2 * 2^20 * 8192 * 50257, by hand:
    expect(80n * (24n * 2n ** 46n + 2n ** 54n) + 2n ** 34n * 50257n).toBe(1_577_123_278_265_253_888n);
    expect(s.flopsForward).toBe(gptFlops(g).total);
    expect(s.flopsForward).toBe(1_577_123_278_265_253_888n);
    expect(s.flopsAttention).toBe(80n * 2n ** 54n);
  });

  const g = load(GPT_65B, ODD);
  const s = exactModelStats(g);
  const want = gptFlops(g);

  it('matches the closed form at seq=2^24-1, batch=3, beyond what a number holds', () => {
    expect(s.flopsForward).toBe(want.total);
    expect(BigInt(Number(want.total))).not.toBe(want.total);
    expect(s.flopsGemm).toBe(80n * 24n * 3n * 16_777_215n * 8192n ** 2n + 2n * 3n * 16_777_215n * 8192n * 50257n);
    expect(s.flopsAttention + s.flopsGemm + s.flopsConv).toBe(s.flopsForward);
  });

  it('counts every block exactly, and the layers sum to the total', () => {
    const blocks = s.layers.filter((l) => l.kind === 'Block');
    expect(blocks).toHaveLength(80);
    for (const l of blocks) expect(l.flopsForward).toBe(want.layer);
    expect(want.layer > TWO_53).toBe(true);
    expect(s.layers.reduce((t, l) => t + l.flopsForward, 0n)).toBe(s.flopsForward);
    expect(s.layers.reduce((t, l) => t + l.flopsElementwise, 0n)).toBe(s.flopsElementwise);
    expect(s.layers.reduce((t, l) => t + l.params, 0n)).toBe(s.params);
  });

  it('gives planners a number view rounded once from the exact value', () => {
    const attn = g.ops.find((o) => o.kind === 'attention')!;
    expect(exactOpCost(g, attn.id).attention).toBe(2n * 3n * 16_777_215n ** 2n * 8192n);
    expect(opCost(g, attn.id).attention).toBe(Number(exactOpCost(g, attn.id).attention));
    const n = modelStats(g);
    expect(n.flopsForward).toBe(Number(want.total));
    expect(n.layers[1].flopsForward).toBe(Number(want.layer));
    expect(n.params).toBe(12 * 80 * 8192 ** 2 + 13 * 80 * 8192 + 50257 * 8192);
  });
});

describe('one attention op at 4M tokens', () => {
  it('is counted exactly: 4*B*H*L^2*D, half for causal', () => {
    const r = fromText('model m {\ninput q: bf16[3, 4194303, 5, 127]\noutput y = attention(q, q, q, causal=true)\n}');
    const g = r.graph!;
    const L = 4_194_303n;
    const c = exactOpCost(g, g.ops[0].id);
    expect(c.attention).toBe((4n * 3n * 5n * L * L * 127n) / 2n);
    expect(BigInt(Number(c.attention))).not.toBe(c.attention); // odd dims: a number rounds it
    // B*H*L^2 is odd: the softmax estimate 5*scores ends in half a FLOP, which rounds up.
    expect(c.elementwise).toBe((5n * 3n * 5n * L * L + 1n) / 2n);
  });
});

describe('mc inspect --json', () => {
  it('prints the exact digits of gpt-65b at seq=1048576', () => {
    const out = inspectJson(GPT_65B, '--set', 'seq=1048576');
    expect(out).toContain('"flopsForward": 1577123278265253888,');
    expect(out).toContain(`"flopsAttention": ${80n * 2n ** 54n},`);
  });

  it('prints every count exactly at seq=2^24-1, batch=3, and still validates', () => {
    const want = gptFlops(load(GPT_65B, ODD));
    const out = inspectJson(GPT_65B, '--set', `seq=${ODD.set.seq}`, '--set', `batch=${ODD.set.batch}`);
    expect(out).toContain(`"flopsForward": ${want.total},`);
    expect(out).toContain(`"flopsForward": ${want.layer},`);
    const ajv = new Ajv({ strict: true, allowUnionTypes: true });
    const valid = ajv.compile(JSON.parse(readFileSync('schemas/inspect.schema.json', 'utf8')) as object);
    expect(valid(JSON.parse(out))).toBe(true);
  });
});

describe('toJson', () => {
  it('writes what JSON.stringify(v, null, 2) writes when there is no bigint', () => {
    const v = { a: 'x"\n', b: [1, -2.5, [], {}, null, true], c: { d: [{ e: 1e21 }], f: undefined }, 'g h': 0 };
    expect(toJson(v)).toBe(JSON.stringify(v, null, 2));
    expect(toJson([])).toBe('[]');
  });

  it('writes a bigint as a number literal with all its digits', () => {
    expect(toJson({ n: 2n ** 64n + 1n, xs: [3n] })).toBe('{\n  "n": 18446744073709551617,\n  "xs": [\n    3\n  ]\n}');
  });
});
