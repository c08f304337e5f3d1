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
import { analyses } from '../registries.js';
import { groupColor, renderSvg } from '../report.js';
import type { AnalysisRecord, Column, Figure, RunAnalysis, Spec } from './contract.js';

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
  const runs = (r: GroupAnalysis) => `${r.runs}${r.unfinished ? ` (${r.unfinished} unfinished)` : ''}`;
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

/** Bars of the mean over seeds with every seed as a point, one bar per group (the per-group figures of analysis.html). */
export function perGroupSpec(values: { group: string; seed: number; value: number }[], groups: string[], title: string): Spec | null {
  const shown = values.filter((v) => Number.isFinite(v.value));
  if (!shown.length) return null;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 260,
    height: 220,
    data: { values: shown },
    encoding: { x: { field: 'group', type: 'nominal', sort: groups, title: null }, color: { ...groupColor(groups), legend: null } },
    layer: [
      { mark: { type: 'bar', opacity: 0.35 }, encoding: { y: { aggregate: 'mean', field: 'value', type: 'quantitative', title } } },
      { mark: { type: 'point', filled: true, size: 50 }, encoding: { y: { field: 'value', type: 'quantitative' } } },
    ],
  };
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** analysis.html for one run or a compare directory. */
export async function analysisPage(title: string, list: RunAnalysis[], groups: string[], label = 'rule'): Promise<string> {
  const figures: Figure[] = analyses.entries().flatMap((e) => e.figures?.(list, groups) ?? []);
  figures.push(...trainingFigures(list.map((a) => ({ group: a.group, seed: a.seed, dir: a.runDir })), groups));
  const svgs = await Promise.all(figures.map((f) => renderSvg(f.spec)));
  const rows = analysisRows(aggregate(list, groups), label);
  const backends = [...new Set(list.flatMap((a) => Object.values(a.measures).map((m) => m.backend)))].join(', ');
  const setting = [...settings(list), `Backend ${backends}.`].map(escape).join(' ');
  const preformatted = texts(list, list.length > 1)
    .map((t) => `<pre>${escape(t)}</pre>`)
    .join('\n');
  const tableHtml = `<table>\n<thead><tr>${rows[0]!.map((h) => `<th>${escape(h)}</th>`).join('')}</tr></thead>\n<tbody>\n${rows
    .slice(1)
    .map((r) => `<tr>${r.map((c) => `<td>${escape(c)}</td>`).join('')}</tr>`)
    .join('\n')}\n</tbody>\n</table>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escape(title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.8rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 1.5rem 0; display: inline-block; vertical-align: top; }
figcaption { font-weight: 600; margin-bottom: 0.5rem; }
</style>
</head>
<body>
<h1>${escape(title)}</h1>
<p>${setting} Mean ± std over seeds.</p>
${tableHtml}
${preformatted}
${figures.map((f, i) => `<figure><figcaption>${escape(f.title)}</figcaption>\n${svgs[i]}\n</figure>`).join('\n')}
</body>
</html>
`;
}
