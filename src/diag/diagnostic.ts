// Diagnostics are plain data: a code from the catalog, a span and a message. Phases return them
// instead of throwing; only the CLI turns them into text.
import { type Span, SourceFile } from './source.js';
import { MESSAGES, type MessageCode } from './messages.js';

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  readonly code: MessageCode;
  readonly severity: Severity;
  readonly span: Span;
  readonly message: string;
}

/** Builds a diagnostic from a catalog template: `{0}`, `{1}`... are replaced by args. */
export function diag(code: MessageCode, span: Span, ...args: (string | number)[]): Diagnostic {
  const message = MESSAGES[code].replace(/\{(\d+)\}/g, (_, i: string) => String(args[Number(i)] ?? ''));
  return { code, severity: 'error', span, message };
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}

/**
 * `file:line:col - error MC2003: message`, then the source line and a caret under the span
 * (a `^` at the start and `~` for the rest, clipped to the line), in the style of tsc.
 */
export function formatDiagnostic(d: Diagnostic, source: SourceFile): string {
  const { line, col } = source.position(d.span.start);
  const text = source.lineText(line);
  const gutter = String(line);
  const pad = ' '.repeat(gutter.length);
  const width = Math.max(1, Math.min(d.span.end - d.span.start, text.length - col + 1));
  const caret = ' '.repeat(Math.max(0, col - 1)) + '^' + '~'.repeat(Math.max(0, width - 1));
  return [
    `${source.path}:${line}:${col} - ${d.severity} ${d.code}: ${d.message}`,
    `${gutter} | ${text}`,
    `${pad} | ${caret}`,
  ].join('\n');
}

/** Stable order for printing: by position, then code. */
export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => a.span.start - b.span.start || a.code.localeCompare(b.code));
}
