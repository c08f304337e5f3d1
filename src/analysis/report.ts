/**
 * Summaries of analyses, built from what each registered analysis declares
 * (its columns, numbers, figures, text): per-group statistics over seeds, the
 * terminal table, analysis.html, and the figures over training that the
 * comparison report shows. A group is a rule, or a rule with the values of the
 * options a sweep varies.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stat, type Stat } from '../compare.js';
import { cell, escape, htmlPage, htmlTable } from '../page.js';
import { groupColor, SCHEMA } from '../plots.js';
import { analyses } from '../registries.js';
import type { AnalysisRecord, Column, Figure, RunAnalysis } from './contract.js';

/** The numbers a table row shows, per run, from every analysis that ran on it. */
export function runNumbers(a: RunAnalysis): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of analyses.entries()) if (e.numbers && a[e.key] !== undefined) Object.assign(out, e.numbers(a[e.key]));
  return out;
}

export interface GroupAnalysis {
  group: string;
  runs: number;
  /** Runs analysed before they finished (--include-unfinished). */
  unfinished: number;
  /** Runs whose training diverged (counted in, and marked). */
  diverged: number;
  stats: Record<string, Stat>;
}

export function aggregate(list: RunAnalysis[], groups: string[]): GroupAnalysis[] {
  return groups.map((group) => {
    const runs = list.filter((a) => a.group === group);
    const mine = runs.map(runNumbers);
    const keys = [...new Set(mine.flatMap((m) => Object.keys(m)))];
    return {
      group,
      runs: mine.length,
      unfinished: runs.filter((a) => a.finished === false).length,
      diverged: runs.filter((a) => a.diverged === true).length,
      stats: Object.fromEntries(keys.map((k) => [k, stat(mine.map((m) => m[k] ?? NaN).filter(Number.isFinite))])),
    };
  });
}

/** Every registered analysis' table columns, in registry order. */
export function columns(): Column[] {
  return analyses.entries().flatMap((e) => e.columns ?? []);
}

const fmt = (s: Stat | undefined, digits: number, scale = 1) =>
  !s || !s.n ? '—' : s.n > 1 ? `${(s.mean * scale).toFixed(digits)} ± ${(s.std * scale).toFixed(digits)}` : (s.mean * scale).toFixed(digits);

/** Header + rows: one row per group (mean ± std over seeds), only the columns that have numbers. */
export function analysisRows(groups: GroupAnalysis[], label = 'rule'): string[][] {
  const cols = columns().filter((c) => groups.some((r) => r.stats[c.key]?.n));
  const runs = (r: GroupAnalysis) => {
    const marks = [r.unfinished ? `${r.unfinished} unfinished` : '', r.diverged ? `${r.diverged} diverged` : ''].filter(Boolean);
    return `${r.runs}${marks.length ? ` (${marks.join(', ')})` : ''}`;
  };
  return [[label, 'runs', ...cols.map((c) => c.title)], ...groups.map((r) => [r.group, runs(r), ...cols.map((c) => fmt(r.stats[c.key], c.digits, c.scale))])];
}

/** How each analysis that ran was computed, one sentence each (from the first run). */
export function settings(list: RunAnalysis[]): string[] {
  const first = list[0];
  if (!first) return [];
  return analyses.entries().flatMap((e) => {
    const r = first[e.key];
    const measure = first.measures[e.name];
    const line = r !== undefined && measure && e.setting ? e.setting(first, r, measure.options) : null;
    return line ? [line] : [];
  });
}

/** Results printed as text after the table (e.g. the implicit-bias predictors), per run. */
export function texts(list: RunAnalysis[], labelled: boolean): string[] {
  return list.flatMap((a) => analyses.entries().flatMap((e) => (a[e.key] !== undefined && e.text ? [e.text(a, a[e.key], labelled)] : [])).filter((t): t is string => Boolean(t)));
}

/** The analysis records a run's training wrote to metrics.jsonl (a torn last line is skipped). */
export function trainingRecords(runDir: string): AnalysisRecord[] {
  const path = join(runDir, 'metrics.jsonl');
  if (!existsSync(path)) return [];
  const out: AnalysisRecord[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.includes('"analysis"')) continue;
    try {
      const r = JSON.parse(line) as AnalysisRecord;
      if (r.type === 'analysis') out.push(r);
    } catch {
      // A run that died mid-write leaves a partial last line.
    }
  }
  return out;
}

/** The figures over training that analyses draw from what they recorded (--analyze-every). */
export function trainingFigures(runs: { group: string; seed: number; dir: string }[], groups: string[]): Figure[] {
  const recorded = runs.map((r) => ({ group: r.group, seed: r.seed, records: trainingRecords(r.dir) }));
  if (!recorded.some((r) => r.records.length)) return [];
  return analyses.entries().flatMap((e) => {
    const f = e.overTraining?.(recorded, groups);
    return f ? [f] : [];
  });
}

/** A linear axis, or a log one where the values span decades (symlog when their signs differ), so one extreme run does not flatten the others. */
export function valueScale(values: number[]): { type: 'linear' | 'log' | 'symlog'; zero?: boolean } {
  const mags = values.filter((v) => v !== 0).map(Math.abs);
  if (mags.length < 2 || Math.max(...mags) / Math.min(...mags) < 100) return { type: 'linear', zero: false };
  return values.every((v) => v > 0) ? { type: 'log' } : { type: 'symlog' };
}

/**
 * One number per run, by group: each run a dot (a cross for a run whose
 * training diverged), the mean over seeds a short line. Null for fewer than
 * two runs: the table already shows a single number.
 */
export function perGroupFigure(values: { group: string; seed: number; value: number; diverged?: boolean }[], groups: string[], what: string, axisTitle: string): Figure | null {
  const shown = values.filter((v) => Number.isFinite(v.value)).map((v) => ({ ...v, run: v.diverged ? 'diverged' : 'finished' }));
  if (shown.length < 2) return null;
  const scale = valueScale(shown.map((v) => v.value));
  const seeds = shown.length > new Set(shown.map((v) => v.group)).size;
  const diverged = shown.some((v) => v.diverged);
  const y = { field: 'value', type: 'quantitative' as const, title: `${axisTitle}${scale.type === 'linear' ? '' : ` (${scale.type})`}`, scale };
  return {
    title: `${what} per group${seeds ? ' (line: mean over seeds; dots: seeds)' : ''}${diverged ? '; ✕: runs that diverged' : ''}`,
    spec: {
      $schema: SCHEMA,
      width: Math.max(160, 60 * groups.length),
      height: 220,
      data: { values: shown },
      encoding: { x: { field: 'group', type: 'nominal', sort: groups, title: null, axis: { labelAngle: -30 } }, color: { ...groupColor(groups), legend: null } },
      layer: [
        ...(seeds ? [{ mark: { type: 'tick' as const, thickness: 3, size: 28 }, encoding: { y: { ...y, aggregate: 'mean' as const } } }] : []),
        {
          mark: { type: 'point', filled: true, size: 60, opacity: 0.9 },
          encoding: { y, shape: { field: 'run', type: 'nominal', scale: { domain: ['finished', 'diverged'], range: ['circle', 'cross'] }, legend: null } },
        },
      ],
    },
  };
}

/** The head of analysis.html: a short title, the analyze command, and for a comparison the command that trained it. */
export interface PageHead {
  title: string;
  command: string;
  of?: string;
}

/**
 * analysis.html for one run or a compare directory: a short title with the
 * command below it, how each measure was computed, the table, text results and
 * the figures of what was computed.
 */
export async function analysisPage(head: PageHead, list: RunAnalysis[], groups: string[], label = 'rule'): Promise<string> {
  const figures: Figure[] = analyses.entries().flatMap((e) => e.figures?.(list, groups) ?? []);
  figures.push(...trainingFigures(list.map((a) => ({ group: a.group, seed: a.seed, dir: a.runDir })), groups));
  const rows = analysisRows(aggregate(list, groups), label);
  const backends = [...new Set(list.flatMap((a) => Object.values(a.measures).map((m) => m.backend)))].join(', ');
  const seeds = list.length > new Set(list.map((a) => a.group)).size;
  const setting = [...settings(list), `Backend ${backends}.`, ...(seeds ? ['Mean ± std over seeds (n − 1).'] : [])].map(escape).join(' ');
  const text = texts(list, list.length > 1).join('');
  const flagged = (r: string[]) => / \(.*(unfinished|diverged)/.test(r[1] ?? '');
  const body = [
    ...(head.of ? [`<p>Runs of <code>${escape(head.of)}</code>.</p>`] : []),
    `<p>${setting}</p>`,
    htmlTable(rows[0]!, rows.slice(1).map((r) => r.map((c, i) => cell(c, i === 1 && flagged(r))))),
    ...(text ? [`<pre>${escape(text)}</pre>`] : []),
  ].join('\n');
  return htmlPage({ title: head.title, command: head.command, body, figures });
}
