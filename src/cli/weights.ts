// `mc weights FILE --random SEED -o W.safetensors` and `mc inputs FILE --random SEED -o I.safetensors`:
// seeded random tensors for any spec (src/eval/random.ts says how each is drawn).
import { parseArgs } from 'node:util';
import { randomInputs, randomWeights } from '../eval/random.js';
import { SafetensorsError, serializeSafetensors } from '../safetensors/index.js';
import { EXIT_OK, UsageError, checkOutputFile, frontEnd, writeOutput } from './common.js';
import { usageOf } from './help.js';

function run(argv: string[], what: 'weights' | 'inputs'): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true,
      options: { model: { type: 'string' }, set: { type: 'string', multiple: true }, random: { type: 'string' }, out: { type: 'string', short: 'o' } },
    });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
  const { values: v, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError(`usage: ${usageOf(what)}`);
  if (v.random === undefined || !/^\d+$/.test(v.random) || Number(v.random) > 0xffffffff)
    throw new UsageError(`--random SEED is required (an integer in [0, 2^32)); checkpoints are not converted here`);
  if (!v.out) throw new UsageError('-o OUT.safetensors is required');
  checkOutputFile(v.out);
  const fe = frontEnd(positionals[0], v.model, v.set);
  if (fe.exit !== undefined || !fe.graph) return fe.exit ?? 1;
  const seed = Number(v.random);
  const tensors = what === 'weights' ? randomWeights(fe.graph, seed) : randomInputs(fe.graph, seed);
  let data;
  try {
    data = serializeSafetensors(tensors, { format: 'pt', generator: `mc ${what} --random ${seed}`, model: fe.graph.model });
  } catch (e) {
    if (e instanceof SafetensorsError) { process.stderr.write(`mc ${what}: error: ${e.message}\n`); return 1; }
    throw e;
  }
  writeOutput(v.out, data); // one line (exit 1) when it cannot be written
  const n = [...tensors.values()].reduce((s, t) => s + t.data.length, 0);
  process.stdout.write(`wrote ${tensors.size} tensors (${n} values) to ${v.out}\n`);
  return EXIT_OK;
}

export const weightsCommand = (argv: string[]): number => run(argv, 'weights');
export const inputsCommand = (argv: string[]): number => run(argv, 'inputs');
