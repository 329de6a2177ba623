// A one-line progress bar (cli-progress) for long runs, drawn on stderr only when it is a TTY and
// not under CI=true; everywhere else it prints nothing, so logs and captured output stay clean.
import cliProgress from 'cli-progress';

export interface Progress {
  /** Marks step `done` of `total` with a short label ("gpt-7b-1m", "12.3 s"). */
  update(done: number, label: string): void;
  /** Clears the line. */
  end(): void;
}

export function progressBar(total: number, stream: NodeJS.WriteStream = process.stderr, env: NodeJS.ProcessEnv = process.env): Progress {
  const on = stream.isTTY === true && env.CI !== 'true' && env.CI !== '1' && total > 1;
  if (!on) return { update: () => {}, end: () => {} };
  const bar = new cliProgress.SingleBar(
    { stream, format: '[{bar}] {value}/{total} {label}', barsize: 24, clearOnComplete: true, hideCursor: true, fps: 10 },
    cliProgress.Presets.legacy,
  );
  bar.start(total, 0, { label: '' });
  return {
    update: (done, label) => bar.update(done, { label }),
    end: () => bar.stop(),
  };
}
