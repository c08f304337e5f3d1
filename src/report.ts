/**
 * report.html for a comparison: the results table (one row per group: a rule,
 * or a rule at one combination of swept values) and the learning figures
 * (src/plots.ts), with whatever figures the caller adds (trial outputs,
 * analyses recorded during training).
 */
import { displayValue, type ComparisonResults, type GroupResult, type Stat } from './compare.js';
import { cell, escape, htmlPage, htmlTable } from './page.js';
import { isRegression, learningFigures, type Figure } from './plots.js';

function pm(s: Stat, scale = 1, digits = 2): string {
  if (!s.n) return '—';
  return s.n > 1 ? `${(s.mean * scale).toFixed(digits)} ± ${(s.std * scale).toFixed(digits)}` : (s.mean * scale).toFixed(digits);
}

/** Losses and normalized errors: fixed digits in the usual range, exponents where a run diverged or the error is tiny. */
const short = (v: number) => (v !== 0 && (Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3) ? v.toExponential(2) : v.toFixed(4));
const exp = (s: Stat) => (!s.n ? '—' : s.n > 1 ? `${short(s.mean)} ± ${short(s.std)}` : short(s.mean));

/** Finished runs, then those left out of the statistics. */
function runsCell(r: GroupResult): string {
  const apart = [r.diverged ? `+${r.diverged} diverged` : '', r.failed ? `+${r.failed} failed` : ''].filter(Boolean).join(' ');
  return cell(`${r.finished}${apart ? ` ${apart}` : ''}`, Boolean(apart));
}

/** The whole page, with extra figures (trial outputs, analyses over training) after the learning figures. */
export async function comparisonReport(results: ComparisonResults, extra: Figure[] = []): Promise<string> {
  const groups = results.groups.map((g) => g.group);
  const regression = isRegression(results.runs);
  const lead = (r: GroupResult) => [r.rule, ...results.grid.map((k) => displayValue(r.values[k]) || '—')].map((c) => cell(c));
  const numbers = (r: GroupResult) =>
    regression
      ? [exp(r.testNmse), exp(r.testMae), exp(r.testLoss), pm(r.secPerEpoch, 1, 1), pm(r.hiddenAngle, 1, 1)]
      : [pm(r.testAccuracy, 100), pm(r.bestTestAccuracy, 100), pm(r.trainAccuracy, 100), exp(r.testLoss), pm(r.secPerEpoch, 1, 1), pm(r.hiddenAngle, 1, 1)];
  const header = [
    'rule',
    ...results.grid,
    'runs',
    ...(regression ? ['final normalized test error', 'test MAE', 'test loss'] : ['final test acc (%)', 'best test acc (%)', 'train acc (%)', 'test loss']),
    's / epoch',
    'hidden-layer angle (°)',
  ];
  const rows = results.groups.map((r) => [...lead(r), runsCell(r), ...numbers(r).map((n) => cell(n))]);
  const backends = [...new Set(results.runs.map((r) => r.backend).filter(Boolean))].join(', ');
  const seeds = Math.max(...results.groups.map((g) => g.finished));
  const left = results.runs.filter((r) => r.status === 'diverged' || r.status === 'failed');
  const body = [
    `<p>${results.runs.length} runs in <code>${escape(results.dir)}</code>${backends ? `, backend ${escape(backends)}` : ''}${seeds > 1 ? '; mean ± std over seeds (n − 1)' : ''}.</p>`,
    htmlTable(header, rows),
    left.length ? `<p>Left out of the statistics: ${left.map((r) => `${escape(r.dir.split('/').pop()!)} (${r.status})`).join(', ')}.</p>` : '',
  ].join('\n');
  return htmlPage({
    title: `Comparison: ${results.groups.map((g) => g.rule).filter((r, i, a) => a.indexOf(r) === i).join(', ')}${results.model ? ` on ${results.model} / ${results.dataset}` : ''}`,
    command: results.command,
    body,
    figures: [...learningFigures(results.runs, groups), ...extra],
  });
}
