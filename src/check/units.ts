// Sizes and ratios as budget files and flags write them: "80GiB", "75.5 GB", "1073741824";
// "0.45" or "45%". Binary units are powers of 1024, decimal units powers of 1000.

const UNITS: Record<string, number> = {
  B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 2 ** 10, MIB: 2 ** 20, GIB: 2 ** 30, TIB: 2 ** 40,
};

/** The pattern budget.schema.json uses for a size string (kept in sync by a test). */
export const SIZE_PATTERN = '^[0-9]+(\\.[0-9]+)?\\s*([kKmMgGtT]i?[bB]|[bB])?$';

// A size without a unit is bytes; below 1 MiB it is a forgotten unit ("50" meant 50 GiB), not a
// GPU memory budget, so it is refused like any other malformed size.
const MIN_BARE_BYTES = 2 ** 20;

/** Bytes of a size string or number, or undefined when it is not one. */
export function parseSize(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= MIN_BARE_BYTES ? v : undefined;
  const m = new RegExp(SIZE_PATTERN).exec(v.trim());
  if (!m) return undefined;
  if (m[2] === undefined && Number(v) < MIN_BARE_BYTES) return undefined;
  const unit = (m[2] ?? 'B').toUpperCase();
  const n = Number(v.trim().slice(0, v.trim().length - (m[2]?.length ?? 0)).trim()) * UNITS[unit];
  return n > 0 ? Math.round(n) : undefined;
}

/** A fraction from "0.45" or "45%", or undefined. */
export function parseFraction(v: string | number): number | undefined {
  const s = String(v).trim();
  const pct = s.endsWith('%');
  const n = Number(pct ? s.slice(0, -1) : s);
  if (s === '' || !Number.isFinite(n)) return undefined;
  const f = pct ? n / 100 : n;
  return f > 0 && f <= 1 ? f : undefined;
}

export const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;

/**
 * A size formatter in one binary unit for every number of a verdict, picked from the largest of
 * them: GiB for GPU-sized budgets, MiB or KiB for tiny ones ("0.00 GiB > 0.00 GiB" says nothing).
 */
export function sizeIn(...bytes: number[]): (b: number) => string {
  const top = Math.max(...bytes.map(Math.abs));
  const [div, unit] = top >= 2 ** 30 / 10 ? [2 ** 30, 'GiB'] : top >= 2 ** 20 / 10 ? [2 ** 20, 'MiB'] : [2 ** 10, 'KiB'];
  return (b) => `${(b / div).toFixed(2)} ${unit}`;
}
export const pct = (f: number, digits = 1): string => `${(100 * f).toFixed(digits)}%`;

/** Decimals (1 to 4) that show two percentages as different when they are. */
export function pctDigits(a: number, b: number): number {
  let d = 1;
  while (d < 4 && a !== b && (100 * a).toFixed(d) === (100 * b).toFixed(d)) d++;
  return d;
}
export const secs = (s: number): string => (s >= 100 ? s.toFixed(1) : s >= 1 ? s.toFixed(2) : s.toPrecision(3)) + ' s';
