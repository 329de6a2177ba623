#!/usr/bin/env node
// The `mc` command: dispatches to one module per subcommand. Usage errors exit 2 with one line;
// spec errors are diagnostics (exit 1), and so are files that cannot be written; nothing reaches the
// user as a stack trace. A closed stdout (`mc ... | head -1`) is not an error.
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EXIT_DIAGNOSTICS, EXIT_USAGE, OutputError, UsageError, ioReason, isErrnoError } from './cli/common.js';
import { INSPECT_USAGE, inspectCommand } from './cli/inspect.js';
import { opsCommand } from './cli/ops.js';

const HELP = `mc: the model compiler

usage:
  ${INSPECT_USAGE}
  mc plan FILE --hw NAME --gpus N [--tp N] [--sp] [--ulysses N] [--cp N] [--dp N] [--zero 0-3]
          [--mode train|infer] [--strategy none|full-recompute|selective|memo|auto]
          [--offload-weights] [--cfg] [--calibration FILE.yaml] [--set NAME=INT]... [--model M] [--json]
          [--alloc greedy|mip|search|auto] [--verify] [--timeline FILE.svg|FILE.html]
  mc check FILE --hw NAME [plan flags] [--max-memory SIZE] [--min-mfu F] [--max-step-time S] [--markdown FILE|-] [--json]
  mc check --budget FILE.yaml [--markdown FILE|-] [--json]
  mc compile FILE [--model M] [--set k=v]... [--hw NAME] [--mode infer] [--backend cuda|cpu] [--arch sm_90]
          [--arena planned|greedy|sequential] [--offload-weights] -o DIR [--no-build]
  mc eval FILE [--model M] [--set k=v]... --weights W --inputs I --out O [--dtype fp32|bf16]
  mc weights FILE [--model M] [--set k=v]... --random SEED -o W.safetensors
  mc inputs FILE [--model M] [--set k=v]... --random SEED -o I.safetensors
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
  compile: async () => (await import('./cli/compile.js')).compileCommand,
  eval: async () => (await import('./cli/eval.js')).evalCommand,
  weights: async () => (await import('./cli/weights.js')).weightsCommand,
  inputs: async () => (await import('./cli/weights.js')).inputsCommand,
  check: async () => (await import('./cli/check.js')).checkCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(HELP);
    return cmd === undefined ? EXIT_USAGE : 0;
  }
  if (cmd === '--version' || cmd === '-V') {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`mc ${pkg.version}\n`);
    return 0;
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
      // parseArgs takes "--gpus -1" for a missing value followed by an option; say it in one line.
      const msg = (e as Error).message;
      const neg = /^Option '(--[\w-]+)[^']*' argument is ambiguous/.exec(msg);
      const line = neg ? `${neg[1]} takes a value that does not start with '-' (negative numbers are not allowed)` : msg.split('\n')[0].replace(/\. To specify a positional argument .*$/, '');
      process.stderr.write(`mc ${cmd}: error: ${line}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof OutputError) {
      process.stderr.write(`mc ${cmd}: error: ${e.message}\n`);
      return EXIT_DIAGNOSTICS;
    }
    // A file operation no command anticipated: still one line, naming the path.
    if (isErrnoError(e)) {
      const path = e.path ? ` '${e.path}'` : '';
      process.stderr.write(`mc ${cmd}: error: cannot ${e.syscall}${path}: ${ioReason(e)}\n`);
      return EXIT_DIAGNOSTICS;
    }
    throw e;
  }
}

/**
 * When the reader of stdout (or stderr) goes away (`mc ... | head -1`), drop what is still to be
 * written there and finish quietly, as Unix tools do, instead of dying with an unhandled EPIPE
 * stack. The command itself runs to the end, so the files it writes are not left half-written.
 */
function quietOnEpipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') {
      stream.write = (() => true) as typeof stream.write;
      return;
    }
    if (stream !== process.stderr) process.stderr.write(`mc: error: cannot write to stdout: ${ioReason(e)}\n`);
    process.exit(EXIT_DIAGNOSTICS);
  });
}

const invoked = process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invoked) {
  quietOnEpipe(process.stdout);
  quietOnEpipe(process.stderr);
  process.exitCode = await main(process.argv.slice(2));
}
