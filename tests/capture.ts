// Runs one CLI command in-process with stdout and stderr captured, as the CLI tests need it: the
// exit code, or `usage: MESSAGE` for a usage error, or `threw: ...` for anything that escaped.
import { jest } from '@jest/globals';
import { UsageError } from '../src/cli/common.js';

export interface Captured { code: number | string; out: string; err: string }

export async function runCommand(command: (argv: string[]) => number | Promise<number>, argv: string[]): Promise<Captured> {
  let out = '', err = '';
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((s) => { out += String(s); return true; });
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((s) => { err += String(s); return true; });
  try {
    return { code: await command(argv), out, err };
  } catch (x) {
    return { code: x instanceof UsageError ? `usage: ${(x as Error).message}` : `threw: ${String(x)}`, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
