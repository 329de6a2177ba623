// minimalloc's CSV format: header `id,lower,upper,size[,alignment][,offset]`, lifetimes half-open
// [lower, upper). Errors are one line naming the line and the field, never a stack trace.
import type { Buffer } from './types.js';

export class CsvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsvError';
  }
}

export interface CsvTable {
  readonly buffers: Buffer[];
  /** Header cells and row cells as read, so the output keeps the input's columns. */
  readonly header: string[];
  readonly rows: string[][];
}

// Accepted column names (minimalloc's legacy aliases included). `end` is inclusive, as upstream.
const ALIASES: Readonly<Record<string, string>> = {
  id: 'id', buffer: 'id', buffer_id: 'id',
  lower: 'lower', begin: 'lower', start: 'lower',
  upper: 'upper', end: 'end',
  size: 'size', alignment: 'alignment', offset: 'offset', hint: 'hint', gaps: 'gaps',
};

export function parseCsv(text: string, file = '<input>'): CsvTable {
  const lines = text.split(/\r?\n/);
  let first = 0;
  while (first < lines.length && lines[first].trim() === '') first++;
  if (first >= lines.length) throw new CsvError(`${file}: empty file, expected a header 'id,lower,upper,size'`);
  const header = lines[first].split(',').map((h) => h.trim());
  const col = new Map<string, number>();
  header.forEach((h, i) => {
    const canon = ALIASES[h.toLowerCase()];
    if (canon === undefined) throw new CsvError(`${file}:${first + 1}: unknown column '${h}'`);
    if (col.has(canon)) throw new CsvError(`${file}:${first + 1}: column '${h}' given twice`);
    col.set(canon, i);
  });
  for (const need of ['id', 'lower', 'size']) {
    if (!col.has(need)) throw new CsvError(`${file}:${first + 1}: missing column '${need}'`);
  }
  if (!col.has('upper') && !col.has('end')) throw new CsvError(`${file}:${first + 1}: missing column 'upper'`);
  const buffers: Buffer[] = [];
  const rows: string[][] = [];
  const seen = new Set<string>();
  for (let ln = first + 1; ln < lines.length; ln++) {
    if (lines[ln].trim() === '') continue;
    const cells = lines[ln].split(',').map((c) => c.trim());
    const where = `${file}:${ln + 1}`;
    if (cells.length !== header.length) {
      throw new CsvError(`${where}: expected ${header.length} fields, got ${cells.length}`);
    }
    const cell = (name: string): string | undefined => {
      const i = col.get(name);
      return i === undefined ? undefined : cells[i];
    };
    const int = (name: string, min: number): number => {
      const raw = cell(name) ?? '';
      const v = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
      if (!Number.isSafeInteger(v) || v < min) {
        throw new CsvError(`${where}: field '${name}': expected an integer >= ${min}, got '${raw}'`);
      }
      return v;
    };
    const id = cell('id') ?? '';
    if (id === '') throw new CsvError(`${where}: field 'id': empty`);
    if (seen.has(id)) throw new CsvError(`${where}: field 'id': duplicate id '${id}'`);
    seen.add(id);
    const lower = int('lower', 0);
    const upper = col.has('upper') ? int('upper', 0) : int('end', 0) + 1;
    if (upper < lower) throw new CsvError(`${where}: field 'upper': ${upper} is before lower ${lower}`);
    const size = int('size', 0);
    const gaps = cell('gaps');
    if (gaps !== undefined && gaps !== '') throw new CsvError(`${where}: field 'gaps': gaps are not supported`);
    const alignCell = cell('alignment');
    const align = alignCell === undefined || alignCell === '' ? undefined : int('alignment', 1);
    const offCell = cell('offset');
    const fixedOffset = offCell === undefined || offCell === '' || offCell === '-1' ? undefined : int('offset', 0);
    buffers.push({ id, size, start: lower, end: upper, ...(align ? { align } : {}), ...(fixedOffset !== undefined ? { fixedOffset } : {}) });
    rows.push(cells);
  }
  return { buffers, header, rows };
}

/** The input rows with an `offset` column (replaced if present, appended otherwise). */
export function writeCsv(table: CsvTable, offsets: ReadonlyMap<string, number>): string {
  const idCol = table.header.findIndex((h) => ALIASES[h.toLowerCase()] === 'id');
  let offCol = table.header.findIndex((h) => h.toLowerCase() === 'offset');
  const header = [...table.header];
  if (offCol < 0) {
    offCol = header.length;
    header.push('offset');
  }
  const out = [header.join(',')];
  for (const row of table.rows) {
    const r = [...row];
    r[offCol] = String(offsets.get(row[idCol]) ?? '');
    out.push(r.join(','));
  }
  return out.join('\n') + '\n';
}
