// Paths the CLI cannot write, and a stdout that goes away: one line (`mc CMD: error: ...`), a
// non-zero exit, no stack trace, and nothing written. Runs the built dist/cli.js.
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Run { code: number | null; stdout: string; stderr: string }

// Asynchronous, so that independent runs can go side by side (each `mc compile` spends ~1 s loading).
function run(file: string, args: string[]): Promise<Run> {
  return new Promise((done, fail) => {
    // A timeout so a regression that hangs (a recursive mkdir under /proc) fails instead of stalling the suite.
    const p = spawn(file, args, { timeout: 15_000 });
    let stdout = '', stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    p.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    p.on('error', fail);
    p.on('close', (code) => done({ code, stdout, stderr }));
  });
}

const mc = (...args: string[]): Promise<Run> => run(process.execPath, ['dist/cli.js', ...args]);

/** Exit `code`, exactly one stderr line matching `line`, and no stack frames. */
function oneLine(r: Run, code: number, line: RegExp): void {
  expect(r.stderr).not.toMatch(/^ {4}at /m);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(line);
  expect(r.code).toBe(code);
}

if (!existsSync('dist/cli.js')) spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
const tmp = mkdtempSync(join(tmpdir(), 'mc-cli-errors-'));
const missing = (): string => join(tmp, 'missing'); // a folder that never exists

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('files that cannot be written', () => {
  it('mc plan --timeline into a missing folder', async () => {
    const out = join(missing(), 'x.svg');
    const r = await mc('plan', 'examples/memo-gpt/gpt-7b.mc', '--hw', 'a800', '--gpus', '8', '--tp', '8', '--timeline', out);
    oneLine(r, 1, /^mc plan: error: cannot write '.*x\.svg': no such directory .*\(ENOENT\)/);
    expect(r.stdout).toBe(''); // it fails before planning
    expect(existsSync(missing())).toBe(false);
  });

  it('mc check --markdown into a missing folder', async () => {
    const r = await mc('check', 'examples/memo-gpt/gpt-7b.mc', '--hw', 'a800', '--gpus', '8', '--tp', '8', '--markdown', join(missing(), 'x.md'));
    oneLine(r, 1, /^mc check: error: cannot write '.*x\.md': no such directory .*\(ENOENT\)/);
    expect(existsSync(missing())).toBe(false);
  });

  it('mc check --markdown onto a folder', async () => {
    const r = await mc('check', 'examples/memo-gpt/gpt-7b.mc', '--hw', 'a800', '--gpus', '8', '--tp', '8', '--markdown', tmp);
    oneLine(r, 1, /^mc check: error: cannot write '.*': it is a directory \(EISDIR\)/);
  });

  it('mc eval --out into a missing folder', async () => {
    const w = join(tmp, 'w.safetensors'), i = join(tmp, 'i.safetensors');
    expect((await mc('weights', 'examples/tiny/gpt.mc', '--random', '1', '-o', w)).code).toBe(0);
    expect((await mc('inputs', 'examples/tiny/gpt.mc', '--random', '2', '-o', i)).code).toBe(0);
    const r = await mc('eval', 'examples/tiny/gpt.mc', '--weights', w, '--inputs', i, '--out', join(missing(), 'o.safetensors'));
    oneLine(r, 1, /^mc eval: error: cannot write '.*o\.safetensors': no such directory .*\(ENOENT\)/);
    expect(existsSync(missing())).toBe(false);
  }, 20_000);

  it('mc weights -o into a missing folder reports the same way', async () => {
    const r = await mc('weights', 'examples/tiny/gpt.mc', '--random', '1', '-o', join(missing(), 'w.safetensors'));
    oneLine(r, 1, /^mc weights: error: cannot write '.*w\.safetensors': no such directory .*\(ENOENT\)/);
  });
});

describe('mc compile -o DIR is checked before anything is written', () => {
  const compile = (out: string): Promise<Run> => mc('compile', 'examples/tiny/dit.mc', '--backend', 'cpu', '-o', out, '--no-build');

  it('an existing file, /proc and /sys (where a recursive mkdir never returns)', async () => {
    const f = join(tmp, 'a-file');
    writeFileSync(f, 'keep me');
    const linux = existsSync('/proc/self') && existsSync('/sys/kernel');
    const [file, proc, sys] = await Promise.all([compile(f), ...(linux ? [compile('/proc/mc-nope'), compile('/sys/mc-nope')] : [])]);
    oneLine(file, 1, /^mc compile: error: cannot write to '.*a-file': it exists and is not a directory/);
    expect(readFileSync(f, 'utf8')).toBe('keep me');
    if (!linux) return;
    oneLine(proc, 1, /^mc compile: error: cannot create '\/proc\/mc-nope': '\/proc' is on the kernel's \/proc pseudo-filesystem/);
    oneLine(sys, 1, /^mc compile: error: cannot create '\/sys\/mc-nope': '\/sys' is on the kernel's \/sys pseudo-filesystem/);
    expect(existsSync('/proc/mc-nope') || existsSync('/sys/mc-nope')).toBe(false);
  }, 20_000);
});

describe('a closed stdout', () => {
  const sh = (cmd: string): Promise<Run> => run('bash', ['-c', `${cmd}; echo "status \${PIPESTATUS[0]}" >&2`]);

  it('mc compile | head -1 is quiet, exits 0 and completes the folder; so does a reader that reads nothing', async () => {
    const d = join(tmp, 'piped');
    const node = JSON.stringify(process.execPath);
    const [r, r2] = await Promise.all([
      sh(`${node} dist/cli.js compile examples/tiny/dit.mc --backend cpu -o ${JSON.stringify(d)} --no-build | head -1`),
      sh(`${node} dist/cli.js ops | true`), // every write hits EPIPE
    ]);
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toBe('status 0\n');
    expect(readdirSync(d).sort()).toEqual(['launcher.js', 'launcher.ts', 'model.cu', 'package.json', 'runtime']);
    expect(r2.stderr).toBe('status 0\n');
  }, 20_000);
});

describe('mc compile --pipeline hunyuan-video', () => {
  it('rejects a spec that is not a DiT, or an unreadable --vae, before writing anything', async () => {
    const d = join(tmp, 'pipe'), d2 = join(tmp, 'pipe2');
    const [r, r2] = await Promise.all([
      mc('compile', 'examples/tiny/gpt.mc', '--pipeline', 'hunyuan-video', '--vae', 'examples/tiny/vae.mc', '--backend', 'cpu', '-o', d, '--no-build'),
      mc('compile', 'examples/tiny/dit.mc', '--pipeline', 'hunyuan-video', '--vae', join(tmp, 'no-such-vae.mc'), '--backend', 'cpu', '-o', d2, '--no-build'),
    ]);
    oneLine(r, 2, /^mc compile: error: --pipeline hunyuan-video needs the DiT spec \(an input `latent` \[1, C, T, H, W\] and dims frames, height, width\); gpt has input \w+ \[1, 64\] and no dim frames, height, width$/);
    expect(existsSync(d)).toBe(false);
    oneLine(r2, 2, /^mc compile: error: cannot read '.*no-such-vae\.mc' \(no such file\)$/);
    expect(existsSync(d2)).toBe(false);
  }, 20_000);
});
