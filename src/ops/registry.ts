// The op table: every op the DSL knows, by name. Adding an op means adding one OpDef to a family
// file and listing the family here.
import { attentionOps } from './attention.js';
import { convOps } from './conv.js';
import { elementwiseOps } from './elementwise.js';
import { embedOps } from './embed.js';
import { linearOps } from './linear.js';
import { normOps } from './norm.js';
import type { OpDef } from './types.js';
import { viewOps } from './view.js';

export const OPS: ReadonlyMap<string, OpDef> = new Map(
  [...linearOps, ...attentionOps, ...normOps, ...elementwiseOps, ...viewOps, ...convOps, ...embedOps].map((d) => [d.name, d]),
);
