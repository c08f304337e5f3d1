/**
 * report.html for one run: how it stands (finished, diverged, interrupted or
 * failed, at which step), its final and best numbers, its settings, and the
 * figures of what it recorded — learning curves, alignment angles, analyses
 * over training, and for signal tasks the outputs on test trials. `biocredit
 * train` writes it at the end of a run and when the run is interrupted.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainingFigures } from './analysis/report.js';
import { atomicWrite } from './checkpoint.js';
import { runResult } from './compare.js';
import { cell, escape, htmlPage, htmlTable } from './page.js';
import { learningFigures } from './plots.js';
import { readConfig } from './run.js';
import type { RunSummary } from './trainer.js';
import { trialOutputsFigure } from './trials.js';

const num = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4));
const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : `${(100 * v).toFixed(2)}%`);

function readSummary(runDir: string): (Partial<RunSummary> & { status?: string; error?: string }) | null {
  const path = join(runDir, 'summary.json');
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Partial<RunSummary>;
  } catch {
    return null;
  }
}

/** The page; `command` is the command line that trained (or resumed) the run. */
export async function runReport(runDir: string, command?: string): Promise<string> {
  const config = readConfig(runDir);
  const rule = config.rule.name;
  const run = runResult(runDir, rule, rule, {}, config.seed);
  const summary = readSummary(runDir);
  const last = run.evals.at(-1);
  const regression = run.evals.some((e) => e.test.nmse !== undefined);
  const metric = (r: { accuracy: number; nmse?: number }) => (regression ? num(r.nmse) : pct(r.accuracy));
  const status = summary?.status ?? 'running';
  const steps = summary?.steps ?? last?.step ?? 0;
  const total = summary?.totalSteps;
  const stand = `${status}${status === 'finished' ? '' : ` at step ${steps}${total ? ` of ${total}` : ''}`}${summary?.error ? `: ${summary.error}` : ''}${summary?.warning ? ` — ${summary.warning}` : ''}`;
  // A finished run has its final evaluation (the whole training split too); otherwise the last one recorded.
  const final = summary?.final;
  const rows: string[][] = final
    ? (['train', 'val', 'test'] as const).flatMap((split) => {
        const r = final[split];
        return r ? [[cell(split), cell(num(r.loss)), cell(metric(r)), cell(r.n.toLocaleString('en-US'))]] : [];
      })
    : last
      ? [
          ...(last.val ? [[cell('val'), cell(num(last.val.loss)), cell(metric(last.val)), cell(last.val.n.toLocaleString('en-US'))]] : []),
          [cell('test'), cell(num(last.test.loss)), cell(metric(last.test)), cell(last.test.n.toLocaleString('en-US'))],
        ]
      : [];
  const optimizer = config.optimizer ? `${config.optimizer.name}, lr ${config.optimizer.lr}` : 'none (the rule applies its own updates)';
  const t = config.training;
  const best = summary?.best;
  const body = [
    `<p><strong${status === 'finished' ? '' : ' class="warn"'}>${escape(stand)}</strong>.</p>`,
    rows.length ? htmlTable([final && (status === 'finished' || status === 'diverged') ? 'split (final)' : `split (step ${steps})`, 'loss', regression ? 'normalized error' : 'accuracy', 'examples'], rows) : '',
    best && 'metric' in best
      ? `<p>Best test ${best.metric === 'nmse' ? 'normalized error' : 'accuracy'} ${best.metric === 'nmse' ? num(best.test.value) : pct(best.test.value)} at step ${best.test.step}.</p>`
      : '',
    `<p>Rule <code>${escape(rule)}</code>, model <code>${escape(config.model.name)}</code>, ${config.dataset.kind === 'task' ? 'task' : 'dataset'} <code>${escape(config.dataset.name)}</code>, seed ${config.seed}, backend ${escape(config.backend)}; optimizer ${escape(optimizer)}, batch ${t.batchSize}. Every setting is in <code>config.json</code>; every record in <code>metrics.jsonl</code>.</p>`,
    `<p>Run directory <code>${escape(runDir)}</code>.</p>`,
  ].join('\n');
  const groups = [rule];
  const trials = run.evals.length ? await trialOutputsFigure([run], groups) : null;
  const figures = [...learningFigures([run], groups), ...(trials ? [trials] : []), ...trainingFigures([{ group: rule, seed: config.seed, dir: runDir }], groups)];
  return htmlPage({
    title: `Run: ${rule} on ${config.model.name} / ${config.dataset.name} (seed ${config.seed})`,
    ...(command ? { command } : {}),
    body,
    figures,
  });
}

export async function writeRunReport(runDir: string, command?: string): Promise<string> {
  const path = join(runDir, 'report.html');
  atomicWrite(path, await runReport(runDir, command));
  return path;
}
