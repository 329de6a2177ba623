// A progress bar for a synchronous child process (a compiler run by execFileSync cannot update a
// bar in this process, whose event loop is blocked): a small child of our own draws it from the
// elapsed time against an estimate, and is stopped when the work ends. TTY only, never under CI.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { progressBar } from './progress.js';

/** Starts the bar; call the returned function when the work is done (it clears the line). */
export function startTicker(label: string, estimateSec: number): () => void {
  const on = process.stderr.isTTY === true && process.env.CI !== 'true' && process.env.CI !== '1';
  if (!on) return () => {};
  const child: ChildProcess = spawn(process.execPath, [fileURLToPath(import.meta.url), label, String(estimateSec)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return () => {
    child.kill();
    process.stderr.write('\r\x1b[K');
  };
}

// Run as a script: tick until killed, never past 99% (the estimate is only an estimate).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [label, estimate] = [process.argv[2] ?? '', Math.max(1, Number(process.argv[3]) || 10)];
  const bar = progressBar(100);
  const t0 = Date.now();
  const parent = process.ppid;
  setInterval(() => {
    // Never outlive the compile that started us (if it died without stopping us).
    try {
      process.kill(parent, 0);
    } catch {
      process.exit(0);
    }
    const s = (Date.now() - t0) / 1000;
    bar.update(Math.min(99, Math.floor((100 * s) / estimate)), `${label} ${s.toFixed(0)} s (about ${estimate.toFixed(0)} s)`);
  }, 250);
}
