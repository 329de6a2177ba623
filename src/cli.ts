#!/usr/bin/env node
// The `mc` command: dispatches to one module per subcommand. Usage errors exit 2 with one line;
// spec errors are diagnostics (exit 1), and so are files that cannot be written; nothing reaches the
// user as a stack trace. A closed stdout (`mc ... | head -1`) is not an error.
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EXIT_DIAGNOSTICS, EXIT_USAGE, OutputError, UsageError, ioReason, isErrnoError, usageLine } from './cli/common.js';
import { commandHelp, overview } from './cli/help.js';
import { inspectCommand } from './cli/inspect.js';
import { opsCommand } from './cli/ops.js';

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
  if (cmd === 'help' && rest[0] !== undefined && COMMANDS[rest[0]]) {
    process.stdout.write(commandHelp(rest[0]));
    return 0;
  }
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(overview());
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
  // Help wins over everything else on the line, as in most CLIs (`mc plan x.mc --help`).
  if (rest.some((a) => a === '--help' || a === '-h')) {
    process.stdout.write(commandHelp(cmd));
    return 0;
  }
  try {
    return await (await load())(rest);
  } catch (e) {
    // parseArgs reports unknown or malformed options with an ERR_PARSE_ARGS_* code.
    const code = (e as { code?: string }).code ?? '';
    if (e instanceof UsageError || code.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`mc ${cmd}: error: ${usageLine((e as Error).message)}\n`);
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
