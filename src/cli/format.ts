/** Small formatting helpers for terminal output. */

export function pct(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '—' : `${(100 * x).toFixed(2)}%`;
}

export function num(x: number | undefined, digits = 4): string {
  if (x === undefined || !Number.isFinite(x)) return '—';
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(2);
  return x.toFixed(digits);
}

export function duration(sec: number): string {
  if (!Number.isFinite(sec)) return '—';
  if (sec < 60) return `${sec.toFixed(1)}s`;
  const m = Math.floor(sec / 60);
  const s = Math.round(sec % 60);
  if (m < 60) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function int(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

/** A plain aligned table: first row is the header. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => visibleLength(r[c] ?? ''))));
  return rows
    .map((r) => r.map((cell, c) => cell + ' '.repeat(widths[c]! - visibleLength(cell))).join('  ').trimEnd())
    .join('\n');
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

export function visibleLength(s: string): number {
  return s.replace(ANSI, '').length;
}

/**
 * The width to fit output to: `COLUMNS` when it is a positive integer (the
 * standard override, which also lets a log or a test choose a width), else the
 * stream's columns when it is a terminal, else undefined: a log keeps whole lines.
 * A malformed COLUMNS is ignored, as other terminal programs do, since the shell
 * or another tool may have set it.
 */
export function terminalWidth(stream: { isTTY?: boolean; columns?: number }): number | undefined {
  const env = Number(process.env['COLUMNS']);
  if (Number.isInteger(env) && env > 0) return env;
  return stream.isTTY && stream.columns ? stream.columns : undefined;
}

/** One field of a status line; `rank` 0 is the most important. */
export interface Field {
  text: string;
  rank: number;
}

/**
 * Joins fields with ' | ' in the order given, keeping those that fit in `width`
 * columns, chosen by rank (most important first). A field is dropped whole, never
 * cut; the most important one is always kept. No width: every field.
 */
export function fitFields(fields: readonly Field[], width: number | undefined): string {
  const join = (keep: ReadonlySet<Field>) => fields.filter((f) => keep.has(f)).map((f) => f.text).join(' | ');
  if (width === undefined) return join(new Set(fields));
  const keep = new Set<Field>();
  for (const f of [...fields].sort((a, b) => a.rank - b.rank)) {
    keep.add(f);
    if (keep.size > 1 && visibleLength(join(keep)) > width) keep.delete(f);
  }
  return join(keep);
}

/** Breaks words (which may carry colour codes) into lines of at most `width` visible columns; a longer word gets a line of its own. */
export function wrapWords(words: readonly string[], width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && visibleLength(line) + 1 + visibleLength(w) > width) {
      lines.push(line);
      line = w;
    } else {
      line = line ? `${line} ${w}` : w;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * One line of a progress bar, `width` columns at most: `lead`, the bar, the
 * percentage, then `fields` fitted by rank. The fields of rank below `essential`
 * come before the bar: when they do not fit beside a bar of `minBar` columns, the
 * bar goes. The bar takes what the fields leave, up to `maxBar` columns.
 */
export function barLine(
  width: number,
  lead: string,
  progress: number,
  fields: readonly Field[],
  bar: (size: number) => string,
  { essential = 1, minBar = 10, maxBar = 24 }: { essential?: number; minBar?: number; maxBar?: number } = {},
): string {
  const pct = `${Math.floor(progress * 100)}%`;
  const plain = `${lead} ${pct} | `;
  const needed = visibleLength(fitFields(fields.filter((f) => f.rank < essential), undefined));
  const room = width - visibleLength(plain) - minBar - 1;
  if (needed > room) return plain + fitFields(fields, width - visibleLength(plain));
  const rest = fitFields(fields, room);
  const size = Math.min(maxBar, width - visibleLength(plain) - visibleLength(rest) - 1);
  return `${lead} ${bar(size)} ${pct} | ${rest}`;
}
