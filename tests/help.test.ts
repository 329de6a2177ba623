// `mc --help`, `mc COMMAND --help` and `mc help COMMAND`: every command has a page, and every flag
// a page lists is one the command accepts (so the help cannot drift from the parsers).
import { describe, expect, it } from '@jest/globals';
import { type Captured, runCommand } from './capture.js';
import { main } from '../src/cli.js';
import { COMMAND_NAMES, commandHelp } from '../src/cli/help.js';

const run = (argv: string[]): Promise<Captured> => runCommand(main, argv);

describe('help', () => {
  it('the overview lists every command and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const c of COMMAND_NAMES) expect(r.out).toContain(`  mc ${c} `.trimEnd());
    expect(r.out).toContain("mc COMMAND --help");
  });

  it.each(COMMAND_NAMES)('mc %s --help prints its page and exits 0, wherever the flag is', async (cmd) => {
    const page = commandHelp(cmd);
    for (const argv of [[cmd, '--help'], [cmd, 'file.mc', '-h', '--json'], ['help', cmd]]) {
      const r = await run(argv);
      expect(r).toEqual({ code: 0, out: page, err: '' });
    }
    expect(page).toMatch(new RegExp(`^usage: mc ${cmd} `));
  });

  it.each(COMMAND_NAMES)('every flag on the %s page is accepted by the command', async (cmd) => {
    // The flag column of the page: "  --a X, --b  description".
    const flags = commandHelp(cmd).split('\n').filter((l) => /^ {2}-/.test(l))
      .flatMap((l) => l.trim().split(/ {2,}/)[0].split(', ').map((f) => f.split(' ')[0]));
    expect(flags.length).toBeGreaterThan(0);
    for (const f of flags) {
      // Nothing heavy runs: the value names no file, so each call ends in a one-line error at most.
      const r = await run([cmd, f, 'no-such-file']);
      expect(`${f}: ${r.err}`).not.toMatch(/Unknown option/);
    }
  });
});
