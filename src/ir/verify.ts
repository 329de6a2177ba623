// The IR verifier: structural invariants every pass must keep. Returns violations as strings
// (empty = valid); tests run it after every pass, and a violation names the pass that broke it.
import { OPS } from '../ops/registry.js';
import { DTYPES, type Graph, tooLarge } from './types.js';

export function verifyGraph(g: Graph, pass = 'elaborate'): string[] {
  const errs: string[] = [];
  const bad = (msg: string): void => { errs.push(`after ${pass}: ${msg}`); };
  g.tensors.forEach((t, i) => {
    if (t.id !== i) bad(`tensor ${i} has id ${t.id}`);
    if (!DTYPES.includes(t.dtype)) bad(`tensor ${t.name} has dtype ${t.dtype}`);
    if (t.shape.some((d) => !Number.isSafeInteger(d) || d <= 0)) bad(`tensor ${t.name} has shape [${t.shape}]`);
    else if (DTYPES.includes(t.dtype) && tooLarge(t.shape, t.dtype)) bad(`tensor ${t.name}: ${tooLarge(t.shape, t.dtype)}`);
    const hasProducer = t.producer !== undefined;
    if (hasProducer !== (t.kind === 'activation' || t.kind === 'output')) bad(`tensor ${t.name} (${t.kind}) producer ${t.producer}`);
  });
  const weightNames = new Set<string>();
  for (const t of g.tensors) {
    if (t.kind !== 'weight') continue;
    if (weightNames.has(t.name)) bad(`weight ${t.name} appears twice`);
    weightNames.add(t.name);
  }
  // Inputs and outputs are found by name (eval, compiled programs): one name, one tensor, listed once.
  const ioName = new Map<string, number>();
  const listed = new Set<string>();
  for (const [what, ids] of [['input', g.inputs], ['output', g.outputs]] as const) {
    for (const id of ids) {
      const t = g.tensors[id];
      if (!t) { bad(`${what} ${id} is not a tensor`); continue; }
      if (listed.has(`${what}:${id}`)) bad(`${what} ${t.name} (tensor ${id}) is listed twice`);
      listed.add(`${what}:${id}`);
      const other = ioName.get(t.name);
      if (other !== undefined && other !== id) bad(`${what} name ${t.name} is used by tensors ${other} and ${id}`);
      ioName.set(t.name, id);
    }
  }
  g.ops.forEach((op, i) => {
    if (op.id !== i) bad(`op ${i} has id ${op.id}`);
    const def = OPS.get(op.kind);
    if (!def) return bad(`op ${i} has unknown kind ${op.kind}`);
    for (const t of op.inputs) {
      const p = g.tensors[t]?.producer;
      if (!g.tensors[t]) bad(`op ${i} reads missing tensor ${t}`);
      else if (p !== undefined && p >= i) bad(`op ${i} reads tensor ${t} made later by op ${p} (not a DAG in order)`);
    }
    for (const t of op.outputs) if (g.tensors[t]?.producer !== i) bad(`op ${i} output ${t} names another producer`);
    if (!g.layers[op.layer]?.ops.includes(i)) bad(`op ${i} is not in its layer ${op.layer}`);
    checkTypes(g, op.id, bad);
  });
  const inLayer = g.layers.reduce((n, l) => n + l.ops.length, 0);
  if (inLayer !== g.ops.length) bad(`layers hold ${inLayer} ops, the graph has ${g.ops.length}`);
  if (g.outputs.length === 0) bad('the graph has no outputs');
  return errs;
}

// Ops that keep their first input's type: a pass that rewires one of their edges without fixing
// shapes or dtypes shows up here.
const SAME_TYPE = new Set(['silu', 'gelu', 'modulate', 'gate', 'layernorm', 'rmsnorm', 'groupnorm', 'rope', 'attention']);

function checkTypes(g: Graph, opId: number, bad: (m: string) => void): void {
  const op = g.ops[opId];
  const def = OPS.get(op.kind)!;
  const x = op.inputs.map((t) => g.tensors[t]).find((t) => t && t.kind !== 'weight');
  const outs = op.outputs.map((t) => g.tensors[t]);
  const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
  if (!x || outs.some((t) => !t)) return;
  if (SAME_TYPE.has(op.kind) && (outs[0].dtype !== x.dtype || outs[0].shape.join() !== x.shape.join()))
    bad(`op ${opId} (${op.kind}) turns ${x.dtype}[${x.shape}] into ${outs[0].dtype}[${outs[0].shape}]`);
  // Views re-index memory: together their outputs hold exactly the input's elements (concat: the sum of inputs').
  if (def.view && op.kind !== 'slice') {
    const ins = op.inputs.map((t) => g.tensors[t]);
    const inN = op.kind === 'concat' ? ins.reduce((n, t) => n + numel(t.shape), 0) : numel(x.shape);
    const outN = outs.reduce((n, t) => n + numel(t.shape), 0);
    if (inN !== outN) bad(`view op ${opId} (${op.kind}) maps ${inN} elements to ${outN}`);
  }
}
