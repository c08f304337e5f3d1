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

function visibleLength(s: string): number {
  return s.replace(ANSI, '').length;
}
