// The one catalog of diagnostic messages. Codes by phase: MC1xxx lexing and parsing,
// MC2xxx names, types, shapes and dims (elaboration). `{n}` is the n-th argument.

export const MESSAGES = {
  MC1001: "Unexpected character '{0}'.",
  MC1002: 'Expected {0} but found {1}.',
  MC1003: 'Unexpected {0}: expected {1}.',
  MC1004: 'Expected at least one {0} but found {1}.',
  MC1005: 'Unexpected {0} after the end of a definition: expected block, model or dim.',
  MC1006: 'Unterminated string.',
  MC1007: "Cannot read '{0}' ({1}).",
  MC1008: "'{0}' is used in a cycle: {1}.",
  MC1009: 'Nesting is too deep here (more than {0} levels of brackets or signs).',

  MC2001: "Unknown name '{0}'.",
  MC2002: "Unknown op or block '{0}'.",
  MC2003: 'Shape mismatch: {0}.',
  MC2004: 'Dtype mismatch: {0}.',
  MC2005: 'Non-integral dim: {0} is not divisible by {1}.',
  MC2006: '{0}',
  MC2007: "Weight '{0}' is defined twice (first at line {1}).",
  MC2008: "'{0}' is already defined at line {1}.",
  MC2009: 'Invalid dim: {0}.',
  MC2010: 'Expected {0} but got {1}.',
  MC2011: "Model '{0}' has no outputs: mark at least one with 'output'.",
  MC2012: "Block '{0}' calls itself (recursion through {1}).",
  MC2013: 'The model is too large to elaborate: {0}.',
  MC2014: "No model in this file: define one with 'model NAME { ... }'.",
  MC2015: "Unknown model '{0}': this file defines {1}.",
  MC2016: "Unknown dim '{0}' in --set: this model's dims are {1}.",
  MC2017: "Weight '{0}' is tied but no weight of that name exists yet.",
  MC2018: 'Block returns {0} values but {1} names are assigned.',
  MC2019: "Output '{0}' is the same tensor as {1} '{2}' (line {3}); a tensor has one name, so output it once, as '{2}'.",
} as const;

export type MessageCode = keyof typeof MESSAGES;
