// A one-line progress bar for long runs, drawn on stderr only when it is a TTY and not under
// CI=true; everywhere else it prints nothing, so logs and captured output stay clean.

export interface Progress {
  /** Marks step `done` of `total` with a short label ("gpt-7b-1m"). */
  update(done: number, label: string): void;
  /** Clears the line. */
  end(): void;
}

export function progressBar(total: number, stream: NodeJS.WriteStream = process.stderr, env: NodeJS.ProcessEnv = process.env): Progress {
  const on = stream.isTTY === true && env.CI !== 'true' && env.CI !== '1' && total > 1;
  if (!on) return { update: () => {}, end: () => {} };
  const width = 24;
  return {
    update(done, label) {
      const full = Math.round((width * done) / total);
      stream.write(`\r[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${done}/${total} ${label}`.slice(0, (stream.columns || 80) - 1) + '\x1b[K');
    },
    end() {
      stream.write('\r\x1b[K');
    },
  };
}
