// The op table: every op the DSL knows, by name. Adding an op means adding one OpDef to a family
// file and listing the family here. Each op's `infer` is wrapped so the dtype rules its tensor
// parameters declare (`dtype: 'float'`, ...) are checked first, in one place (types.ts).
import { attentionOps } from './attention.js';
import { convOps } from './conv.js';
import { elementwiseOps } from './elementwise.js';
import { embedOps } from './embed.js';
import { linearOps } from './linear.js';
import { normOps } from './norm.js';
import { type OpDef, checkDtypes } from './types.js';
import { viewOps } from './view.js';

function withDtypeRules(d: OpDef): OpDef {
  if (!d.params.some((p) => p.dtype)) return d;
  const infer = d.infer.bind(d);
  return { ...d, infer: (args) => { checkDtypes(d.name, d.params, args); return infer(args); } };
}

export const OPS: ReadonlyMap<string, OpDef> = new Map(
  [...linearOps, ...attentionOps, ...normOps, ...elementwiseOps, ...viewOps, ...convOps, ...embedOps].map((d) => [d.name, withDtypeRules(d)]),
);
