// Small helpers for the hand-written SVG and HTML reports: escaping, compact numbers, axis ticks,
// byte labels and the colour of each buffer kind. No DOM, no dependencies.

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A coordinate with at most one decimal ("12.5", "3"). */
export const n1 = (x: number): string => String(Math.round(x * 10) / 10);

/** "1.50 GiB", "12.0 MiB", "512 B". */
export function human(bytes: number): string {
  const units: [number, string][] = [[2 ** 40, 'TiB'], [2 ** 30, 'GiB'], [2 ** 20, 'MiB'], [2 ** 10, 'KiB']];
  for (const [v, u] of units) if (Math.abs(bytes) >= v) return `${(bytes / v).toFixed(bytes / v >= 100 ? 0 : bytes / v >= 10 ? 1 : 2)} ${u}`;
  return `${Math.round(bytes)} B`;
}

/** Round tick positions (1, 2, 5 x 10^k) covering [0, max] with about `count` ticks. */
export function niceTicks(max: number, count = 6): number[] {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = 0; v <= max * (1 + 1e-9); v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Byte ticks at round GiB/MiB multiples (powers of two are not round to a reader). */
export function byteTicks(max: number, count = 6): { value: number; label: string }[] {
  const unit = max >= 2 ** 30 ? 2 ** 30 : max >= 2 ** 20 ? 2 ** 20 : max >= 2 ** 10 ? 2 ** 10 : 1;
  const name = { [2 ** 30]: 'GiB', [2 ** 20]: 'MiB', [2 ** 10]: 'KiB', 1: 'B' }[unit];
  return niceTicks(max / unit, count).map((v) => ({ value: v * unit, label: `${v} ${name}` }));
}

/** Canonical kinds in legend order, with colours (Tableau 10, distinguishable in grey too). */
export const KINDS: readonly { kind: string; color: string; match: RegExp }[] = [
  { kind: 'weights', color: '#4e79a7', match: /^weight/ },
  { kind: 'gradients', color: '#f28e2b', match: /^grad/ },
  { kind: 'optimizer', color: '#76b7b2', match: /^optim/ },
  { kind: 'skeletal', color: '#59a14f', match: /^(skeletal|activation|saved)/ },
  { kind: 'transient', color: '#edc948', match: /^(transient|temp)/ },
  { kind: 'swap staging', color: '#e15759', match: /^(swap|staging|prefetch|offload|rounding)/ },
  { kind: 'workspace', color: '#b07aa1', match: /^workspace/ },
];
const OTHER = ['#9c755f', '#bab0ac', '#ff9da7', '#8cd17d'];

/** The canonical kind of a buffer's `kind` string ("swap-staging", "swapBuffers" -> "swap staging"). */
export function canonicalKind(kind: string): string {
  const k = kind.toLowerCase().replace(/[^a-z]/g, '');
  return KINDS.find((x) => x.match.test(k))?.kind ?? kind.toLowerCase();
}

export function kindColor(kind: string, others: readonly string[]): string {
  const known = KINDS.find((x) => x.kind === kind);
  if (known) return known.color;
  const i = others.indexOf(kind);
  return OTHER[(i < 0 ? 0 : i) % OTHER.length];
}
