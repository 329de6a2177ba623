// Language semantics: dims and --set, integer arithmetic, blocks and weight scopes, repeat and
// layers, `use`, tied weights, and the guards that keep elaboration bounded.
import { describe, expect, it } from '@jest/globals';
import { modelStats } from '../src/analysis/cost.js';
import { compileSpec } from '../src/driver/pipeline.js';
import { formatCount } from '../src/ir/print.js';
import { verifyGraph } from '../src/ir/verify.js';
import { fromText } from './helpers.js';

const graphOf = (text: string, opts = {}) => {
  const r = fromText(text, opts);
  if (!r.graph) throw new Error(r.diagnostics.map((d) => `${d.code} ${d.message}`).join('\n') + (r.usage ?? ''));
  expect(verifyGraph(r.graph)).toEqual([]);
  return r.graph;
};
const codes = (text: string, opts = {}) => fromText(text, opts).diagnostics.map((d) => d.code);

describe('dims and arithmetic', () => {
  const spec = `
    dim frames = 129
    T = (frames - 1) / 4 + 1
    model m {
      input x: bf16[T, frames // 2, frames % 4, max(2, min(T, 7))]
      output x
    }`;

  it('derives values from dims with exact division, floor division, %, min and max', () => {
    expect(graphOf(spec).tensors[0].shape).toEqual([33, 64, 1, 7]);
  });

  it('lets --set override a dim and recomputes what derives from it', () => {
    const g = graphOf(spec, { set: { frames: 65 } });
    expect(g.dims).toEqual({ frames: 65 });
    expect(g.tensors[0].shape).toEqual([17, 32, 1, 7]);
  });

  it('rejects non-integral division, division by zero and overflow', () => {
    expect(codes(spec, { set: { frames: 66 } })).toEqual(['MC2005']);
    expect(codes('x = 1 / 0\nmodel m { input a: bf16[2]\n output a }')).toEqual(['MC2009']);
    expect(codes('x = 9007199254740991 * 3\nmodel m { input a: bf16[2]\n output a }')).toEqual(['MC2009']);
  });

  it('reports an unknown --set name as a usage error, listing the dims', () => {
    expect(fromText(spec, { set: { frame: 3 } }).usage).toBe("unknown dim 'frame' in --set: this model's dims are frames");
  });
});

describe('blocks, scopes and layers', () => {
  const spec = `
    block Mlp(x, width = 16) {
      return linear["fc2"](silu(linear["fc1"](x, width)), size(x, -1))
    }
    block Layer(x) {
      return x + Mlp["mlp"](layernorm["ln"](x))
    }
    model m {
      input x: bf16[2, 8]
      x = linear["stem"](x, 8)
      repeat 3 as i {
        x = Layer["layers.{i}"](x)
      }
      out = layernorm(x, affine=false) * x
      output out
    }`;

  it('names weights by their scope path', () => {
    const names = graphOf(spec).tensors.filter((t) => t.kind === 'weight').map((t) => t.name);
    expect(names).toContain('layers.2.mlp.fc1.weight');
    expect(names).toContain('layers.0.ln.bias');
    expect(names).toContain('stem.weight');
    expect(names.filter((n) => n.startsWith('layers.1.'))).toHaveLength(6);
  });

  it('makes each top-level block call one layer, and runs of loose ops one layer each', () => {
    const g = graphOf(spec);
    expect(g.layers.map((l) => [l.name, l.kind])).toEqual([
      ['x', 'ops'], ['layers.0', 'Layer'], ['layers.1', 'Layer'], ['layers.2', 'Layer'], ['out', 'ops'],
    ]);
    const s = modelStats(g);
    expect(s.layers[1].params).toBe(8 * 16 + 16 + 16 * 8 + 8 + 2 * 8);
    expect(s.params).toBe(8 * 8 + 8 + 3 * s.layers[1].params);
  });

  it('uses default parameters and keyword arguments', () => {
    const g = graphOf(spec.replace('Mlp["mlp"](layernorm["ln"](x))', 'Mlp["mlp"](width=32, x=layernorm["ln"](x))'));
    expect(g.tensors.find((t) => t.name === 'layers.0.mlp.fc1.weight')!.shape).toEqual([32, 8]);
  });

  it('destructures tuples from chunk and from blocks', () => {
    const g = graphOf(`
      block Two(x) {
        a, b = chunk(x, 2, axis=1)
        return b, a
      }
      model m {
        input x: bf16[2, 8]
        p, q = Two(x)
        output y = concat(p, q, p, axis=1)
      }`);
    expect(g.tensors[g.outputs[0]].shape).toEqual([2, 12]);
  });

  it('counts a tied weight once and checks its shape', () => {
    const tied = `
      model m {
        input ids: i32[2, 4]
        x = embedding["wte"](ids, 100, width=8)
        output logits = linear["wte"](x, 100, bias=false, tied=true)
      }`;
    expect(modelStats(graphOf(tied)).params).toBe(800);
    expect(codes(tied.replace('linear["wte"](x, 100', 'linear["wte"](x, 99'))).toEqual(['MC2003']);
    expect(codes(tied.replace('linear["wte"]', 'linear["head"]'))).toEqual(['MC2017']);
  });

  it('interpolates only integers into scopes and keeps names identifier-safe', () => {
    const base = 'model m { input x: bf16[2, 8]\n output y = linear["SCOPE"](x, 4) }';
    expect(codes(base.replace('SCOPE', 'a.{nope}'))).toEqual(['MC2001']);
    expect(codes(base.replace('SCOPE', 'a;b'))).toEqual(['MC2006']);
    expect(codes(base.replace('SCOPE', ''))).toEqual(['MC2006']);
  });
});

describe('use', () => {
  const files: Record<string, string> = {
    'lib/base.mc': `
      dim hidden = 8
      double = 2 * hidden
      block Up(x) { return linear["up"](x, double) }
      model base { input x: bf16[2, hidden]
        output y = Up["up"](x) }`,
    'small.mc': 'use "lib/base.mc"\ndim hidden = 4\n',
    'loop.mc': 'use "loop.mc"\n',
  };
  const read = (p: string) => files[p] ?? { error: 'no such file' };

  it('replaces a used dim in place, so derived values follow', () => {
    const r = compileSpec('small.mc', files['small.mc'], {}, read);
    expect(r.graph!.tensors.find((t) => t.name === 'up.up.weight')!.shape).toEqual([8, 4]);
    expect(r.graph!.dims).toEqual({ hidden: 4 });
  });

  it('takes an absolute path as it is', () => {
    const abs = (p: string) => (p === '/lib/base.mc' ? files['lib/base.mc'] : { error: 'no such file' });
    const r = compileSpec('dir/small.mc', 'use "/lib/base.mc"\ndim hidden = 2\n', {}, abs);
    expect(r.diagnostics).toEqual([]);
    expect(r.graph!.dims).toEqual({ hidden: 2 });
  });

  it('reports a missing file and a cycle at the use', () => {
    expect(compileSpec('x.mc', 'use "gone.mc"', {}, read).diagnostics.map((d) => d.code)).toEqual(['MC1007']);
    expect(compileSpec('loop.mc', files['loop.mc'], {}, read).diagnostics.map((d) => d.code)).toEqual(['MC1008']);
  });
});

describe('guards', () => {
  it('stops an absurd unrolling with a diagnostic instead of hanging', () => {
    const r = fromText('model m { input x: bf16[2]\n repeat 100000 { repeat 100000 { x = silu(x) } }\n output x }', { maxOps: 1000 });
    expect(r.diagnostics.map((d) => d.code)).toEqual(['MC2013']);
  });

  it.each([
    ['deep brackets', `model m { input x: bf16[${'('.repeat(20000)}1${')'.repeat(20000)}]\n output x }`, 'MC1009'],
    ['a long run of signs', `x = ${'-'.repeat(50000)}1\nmodel m { input a: bf16[2]\n output a }`, 'MC1009'],
    ['a 100,000-term sum', `x = ${'1+'.repeat(100000)}1\nmodel m { input a: bf16[2]\n output a }`, 'MC2013'],
  ])('reports %s instead of overflowing the stack', (_, text, code) => {
    expect(fromText(text).diagnostics.map((d) => d.code)).toEqual([code]);
  });

  it('reports recursion once per call site', () => {
    expect(codes('block A(x) { return B(x) }\nblock B(x) { return A(x) }\nmodel m { input x: bf16[2]\n output y = A(x) }'))
      .toEqual(['MC2012']);
  });

  it('reports one error per mistake even inside a block used 40 times', () => {
    const r = fromText('block B(x) { return linear["fc"](x, 0) }\nmodel m { input x: bf16[2, 4]\n repeat 40 as i { x = B["b.{i}"](x) }\n output x }');
    expect(r.diagnostics).toHaveLength(1);
  });
});

describe('inputs and outputs', () => {
  const m = (body: string) => `model m {\n  input x: bf16[2, 4]\n${body}\n}`;

  it('reports a name declared twice at the second declaration, naming the first line (MC2008)', () => {
    const twice = fromText(m('  output o = silu(x)\n  output o = gelu(x)'));
    expect(twice.diagnostics.map((d) => [d.code, d.message])).toEqual([['MC2008', "'o' is already defined at line 3."]]);
    expect(codes(m('  input x: bf16[3, 4]\n  output x'))).toEqual(['MC2008']);
    expect(codes(m('  output x = silu(x)'))).toEqual(['MC2008']);
    expect(codes(m('  output o = silu(x)\n  input o: bf16[2]'))).toEqual(['MC2008']);
    expect(codes(m('  output x\n  output x'))).toEqual(['MC2008']);
  });

  it('reports one tensor output under a second name (MC2019)', () => {
    expect(codes(m('  output o = silu(x)\n  output p = o'))).toEqual(['MC2019']);
    expect(codes(m('  output y = x'))).toEqual(['MC2019']);
  });

  it('passes an input through as an output of its own name, once', () => {
    const g = graphOf(m('  y = silu(x)\n  output x\n  output y'));
    expect(g.outputs.map((id) => g.tensors[id].name)).toEqual(['x', 'y']);
    expect(g.outputs[0]).toBe(g.inputs[0]);
  });
});

describe('size limits', () => {
  it('accepts a tensor of exactly 2^53 - 1 bytes and rejects one byte per element more (MC2009)', () => {
    expect(codes('model m {\n  input x: bool[9007199254740991]\n  output x\n}')).toEqual([]);
    expect(codes('model m {\n  input x: i32[9007199254740991]\n  output x\n}')).toEqual(['MC2009']);
  });

  it('rejects a too-large input, weight or op output at the declaration or op that makes it', () => {
    const text = 'dim n = 300000\nmodel m {\n  input x: fp32[n, n, n]\n  output o = linear["l"](x, n)\n}';
    const r = fromText(text);
    expect(r.diagnostics.map((d) => [d.code, d.span.start])).toEqual([['MC2009', text.indexOf('input x')]]);
    expect(r.diagnostics[0].message).toMatch(/input 'x' fp32\[300000, 300000, 300000\] is too large: 2\.70e\+16 elements, 1\.08e\+17 bytes/);
    expect(fromText('model m {\n  input v: bf16[1, 1000000000000]\n  output o = linear["l"](v, 1000000000000)\n}').diagnostics[0].message)
      .toMatch(/linear weight 'weight' bf16\[1000000000000, 1000000000000\] is too large/);
    expect(fromText('model m {\n  input u: fp16[1, 1, 1, 1, 1]\n  output o = upsample(u, factor=(1, 100000000, 100000000))\n}').diagnostics[0].message)
      .toMatch(/upsample output fp16\[1, 1, 1, 100000000, 100000000\] is too large/);
  });

  it('prints counts past 2^53 - 1 as approximate, never with separators in an exponent', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(Number.MAX_SAFE_INTEGER)).toBe('9,007,199,254,740,991');
    expect(formatCount(2 ** 53 + 2)).toBe('~9.007e+15');
    expect(formatCount(1.000000000001e24)).toBe('~1.000e+24');
    expect(formatCount(0)).toBe('0');
  });
});
