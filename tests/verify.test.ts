// The IR verifier catches what a buggy pass would do: rewired edges, changed types, lost ops.
import { describe, expect, it } from '@jest/globals';
import type { Graph, Op, Tensor } from '../src/ir/types.js';
import { verifyGraph } from '../src/ir/verify.js';
import { load } from './helpers.js';

const base = (): Graph => load('examples/tiny/gpt.mc');
const withOp = (g: Graph, id: number, f: (o: Op) => Op): Graph => ({ ...g, ops: g.ops.map((o) => (o.id === id ? f(o) : o)) });
const withTensor = (g: Graph, id: number, f: (t: Tensor) => Tensor): Graph =>
  ({ ...g, tensors: g.tensors.map((t) => (t.id === id ? f(t) : t)) });

describe('verifyGraph', () => {
  it('accepts every example', () => {
    expect(verifyGraph(base())).toEqual([]);
  });

  it('reports an op that reads a tensor made later', () => {
    const g = base();
    const late = g.ops[g.ops.length - 1].outputs[0];
    expect(verifyGraph(withOp(g, 1, (o) => ({ ...o, inputs: [late, ...o.inputs.slice(1)] })), 'fuse').join())
      .toMatch(/after fuse: op 1 reads tensor \d+ made later/);
  });

  it('reports a shape-preserving op whose output type changed', () => {
    const g = base();
    const ln = g.ops.find((o) => o.kind === 'layernorm')!;
    expect(verifyGraph(withTensor(g, ln.outputs[0], (t) => ({ ...t, dtype: 'fp32' }))).join()).toMatch(/layernorm\) turns bf16/);
  });

  it('reports a view that changes the element count, and ops missing from layers', () => {
    const g = base();
    const view = g.ops.find((o) => o.kind === 'reshape')!;
    expect(verifyGraph(withTensor(g, view.outputs[0], (t) => ({ ...t, shape: [1, 2] }))).join()).toMatch(/view op \d+ \(reshape\)/);
    expect(verifyGraph({ ...g, layers: g.layers.slice(1) }).join()).toMatch(/not in its layer|layers hold/);
  });

  it('reports duplicate weight names', () => {
    const g = base();
    const [a, b] = g.tensors.filter((t) => t.kind === 'weight');
    expect(verifyGraph(withTensor(g, b.id, (t) => ({ ...t, name: a.name }))).join()).toMatch(/appears twice/);
  });
});

describe('verifyGraph: inputs, outputs and sizes', () => {
  it('reports two inputs/outputs with one name, and a tensor listed twice', () => {
    const g = base();
    const out = g.outputs[0];
    expect(verifyGraph(withTensor(g, out, (t) => ({ ...t, name: g.tensors[g.inputs[0]].name }))).join()).toMatch(/output name \S+ is used by tensors/);
    expect(verifyGraph({ ...g, outputs: [out, out] }).join()).toMatch(/is listed twice/);
  });

  it('reports a tensor whose byte size is not an exact integer', () => {
    const g = base();
    expect(verifyGraph(withTensor(g, g.inputs[0], (t) => ({ ...t, shape: [300000, 300000, 300000] }))).join()).toMatch(/is too large/);
  });
});
