#!/usr/bin/env node
// The `mc` command: dispatches to one module per subcommand. Usage errors exit 2 with one line;
// spec errors are diagnostics (exit 1); nothing reaches the user as a stack trace.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EXIT_USAGE, UsageError } from './cli/common.js';
import { INSPECT_USAGE, inspectCommand } from './cli/inspect.js';
import { opsCommand } from './cli/ops.js';

const HELP = `mc: the model compiler

usage:
  ${INSPECT_USAGE}
  mc plan FILE --hw NAME --gpus N [--tp N] [--sp] [--ulysses N] [--cp N] [--dp N] [--zero 0-3]
          [--mode train|infer] [--strategy none|full-recompute|selective|memo|auto]
          [--offload-weights] [--cfg] [--calibration FILE.yaml] [--set NAME=INT]... [--model M] [--json]
  mc ops [--markdown]            list the ops of the spec language
  mc alloc FILE.csv --capacity N [--out FILE] [--time-limit S] [--solver NAME] [--verify] [--minimize]
`;

type Command = (argv: string[]) => number | Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  inspect: async () => inspectCommand,
  ops: async () => opsCommand,
  // Loaded on demand so `mc inspect` never pays for solver start-up.
  alloc: async () => (await import('./cli/alloc.js')).allocCommand,
  plan: async () => (await import('./cli/plan.js')).planCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(HELP);
    return cmd === undefined ? EXIT_USAGE : 0;
  }
  const load = COMMANDS[cmd];
  if (!load) {
    process.stderr.write(`mc: error: unknown command '${cmd}'; commands: ${Object.keys(COMMANDS).join(', ')}\n`);
    return EXIT_USAGE;
  }
  try {
    return await (await load())(rest);
  } catch (e) {
    // parseArgs reports unknown or malformed options with an ERR_PARSE_ARGS_* code.
    const code = (e as { code?: string }).code ?? '';
    if (e instanceof UsageError || code.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`mc ${cmd}: error: ${(e as Error).message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
}

const invoked = process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invoked) process.exitCode = await main(process.argv.slice(2));
