// The `mc` command as users run it: the built dist/cli.js (npm test builds it first), its output,
// and its exit codes (0 ok, 1 diagnostics, 2 bad usage), never a stack trace.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';

function mc(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('mc inspect', () => {
  it('prints the per-layer table and totals for the DiT', () => {
    const r = mc('inspect', 'examples/hunyuan-video/dit.mc');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^double_blocks\.19 +DoubleBlock +339,831,296 +201\.1 TFLOP$/m);
    expect(r.stdout).toMatch(/^params +12,821,012,544/m);
    expect(r.stdout).toMatch(/^FLOPs forward +12\.07 PFLOP/m);
  });

  it('prints the documented JSON keys', () => {
    const r = mc('inspect', 'examples/hunyuan-video/dit.mc', '--set', 'frames=65', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    for (const k of ['model', 'params', 'paramBytes', 'flopsForward', 'flopsElementwise', 'layers', 'dims']) expect(j).toHaveProperty(k);
    expect(j.dims.frames).toBe(65);
    expect(j.params).toBe(12_821_012_544);
    expect(j.layers[0]).toEqual(expect.objectContaining({ name: 'img_in', kind: 'PatchEmbed', params: 199_680 }));
    expect(j.layers.reduce((s: number, l: { flopsForward: number }) => s + l.flopsForward, 0)).toBe(j.flopsForward);
  });

  it('selects a model with --model', () => {
    const r = mc('inspect', 'examples/hunyuan-video/vae.mc', '--model', 'decoder', '--json');
    expect(JSON.parse(r.stdout).params).toBe(146_136_339);
  });

  it('exits 1 with diagnostics for a bad spec', () => {
    const r = mc('inspect', 'examples/hunyuan-video/dit.mc', '--set', 'frames=130');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error MC2005: Non-integral dim: 129 is not divisible by 4.');
    expect(r.stderr).toMatch(/dit\.mc:\d+:\d+ - error/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it.each([
    [['inspect'], /expected one spec file/],
    [['inspect', 'nope.mc'], /cannot read 'nope.mc' \(no such file\)/],
    [['inspect', 'examples/tiny/gpt.mc', '--set', 'seq'], /--set expects NAME=INTEGER/],
    [['inspect', 'examples/tiny/gpt.mc', '--set', 'sequence=4'], /unknown dim 'sequence' in --set: this model's dims are batch, seq/],
    [['inspect', 'examples/tiny/gpt.mc', '--model', 'bert'], /unknown model 'bert': this file defines gpt/],
    [['inspect', 'examples/tiny/gpt.mc', '--frobnicate'], /Unknown option '--frobnicate'/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('exits 2 with one line for bad usage: %j', (args, message) => {
    const r = mc(...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
