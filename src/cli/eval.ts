// `mc eval FILE --weights W --inputs I --out O [--dtype fp32|bf16]`: the reference interpreter.
import { parseArgs } from 'node:util';
import { EvalError, evaluate, type EvalDType } from '../eval/interp.js';
import { SafetensorsError, readSafetensors, serializeSafetensors } from '../safetensors/index.js';
import { EXIT_OK, UsageError, checkOutputFile, frontEnd, writeOutput } from './common.js';
import { usageOf } from './help.js';

export function evalCommand(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true,
      options: {
        model: { type: 'string' }, set: { type: 'string', multiple: true }, weights: { type: 'string' },
        inputs: { type: 'string' }, out: { type: 'string', short: 'o' }, dtype: { type: 'string', default: 'bf16' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
  const { values: v, positionals } = parsed;
  if (positionals.length !== 1 || !v.weights || !v.inputs || !v.out)
    throw new UsageError(`usage: ${usageOf('eval')}`);
  if (v.dtype !== 'fp32' && v.dtype !== 'bf16') throw new UsageError(`--dtype must be fp32 or bf16, got '${v.dtype}'`);
  checkOutputFile(v.out); // before evaluating, which can take a while
  const fe = frontEnd(positionals[0], v.model, v.set);
  if (fe.exit !== undefined || !fe.graph) return fe.exit ?? 1;
  try {
    const w = readSafetensors(v.weights).tensors;
    const i = readSafetensors(v.inputs).tensors;
    const t0 = performance.now();
    const r = evaluate(fe.graph, w, i, v.dtype as EvalDType);
    const ms = performance.now() - t0;
    writeOutput(v.out, serializeSafetensors(r.outputs, { generator: `mc eval --dtype ${v.dtype}`, model: fe.graph.model }));
    process.stdout.write(`evaluated ${fe.graph.ops.length} ops in ${ms.toFixed(1)} ms (${v.dtype}); wrote ${[...r.outputs.keys()].join(', ')} to ${v.out}\n`);
    return EXIT_OK;
  } catch (e) {
    if (e instanceof SafetensorsError || e instanceof EvalError) {
      process.stderr.write(`mc eval: error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
