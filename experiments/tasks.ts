/**
 * Runs a task-RNN comparison (experiments/rnn/definitions.ts) with `biocredit
 * compare`, then prints a Markdown report: final metric per rule and seed, the
 * first evaluation step at which each seed reached 95% accuracy (decision
 * tasks) or its normalized error (regression tasks), the learning curves as a
 * table, and the ordering of the rules; `--figure` writes the curves as SVG.
 *
 *   node dist/experiments/tasks.js modprop-delayed-xor --seeds 4 [--jobs 2] [--out DIR] [--figure FILE]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { collectResults, stat, type ComparisonResults } from '../src/compare.js';
import { parse, parseFlag } from '../src/options.js';
import { groupColor, isRegression, renderSvg } from '../src/plots.js';
import { modpropDelayedXor, modpropDelayedXorEach, modpropDelayedXorEiReadout, modpropDelayedXorLastStep, modpropDelayedXorReference, murrayPeriodic, rfloDelayedXorSymmetric } from './rnn/definitions.js';
import { eiFullForceChirp, forceFourSines, fullForceChirp, fullForceReadySetGo, fullForceVsForce } from './rnn/least-squares.js';
import type { TaskExperiment } from './types.js';

const EXPERIMENTS: TaskExperiment[] = [
  murrayPeriodic,
  modpropDelayedXor,
  modpropDelayedXorLastStep,
  modpropDelayedXorEach,
  modpropDelayedXorReference,
  modpropDelayedXorEiReadout,
  rfloDelayedXorSymmetric,
  fullForceChirp,
  fullForceVsForce,
  forceFourSines,
  eiFullForceChirp,
  fullForceReadySetGo,
];
const BIN = fileURLToPath(new URL('../bin/biocredit.js', import.meta.url));
const TARGET = 0.95;

const value = (e: { test: { accuracy: number; nmse?: number } }, regression: boolean) => (regression ? e.test.nmse! : e.test.accuracy);
const exp = (v: number) => (Number.isFinite(v) ? v.toExponential(2) : '—');
const pct = (v: number) => (Number.isFinite(v) ? (100 * v).toFixed(1) : '—');
const num = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v.toPrecision(3) : '—');

export function report(e: TaskExperiment, r: ComparisonResults, seeds: number, command: string): string {
  const regression = isRegression(r.runs);
  const backend = [...new Set(r.runs.map((x) => x.backend).filter(Boolean))].join(', ');
  const lines = [
    `### ${e.title}`,
    '',
    `Source: ${e.source}.`,
    `Measured: ${seeds} seed${seeds > 1 ? 's' : ''} per rule, ${new Date().toISOString().slice(0, 10)}, backend ${backend}, ${cpus().length}-core ${cpus()[0]?.model.trim() ?? 'machine'}; the ${r.runs.length} runs' wall times add up to ${(r.runs.reduce((a, x) => a + (Number.isFinite(x.wallSec) ? x.wallSec : 0), 0) / 60).toFixed(1)} min.`,
    '',
    `    ${command}`,
    '',
  ];
  const steps = [...new Set(r.runs.flatMap((x) => x.evals.map((v) => v.step)))].sort((a, b) => a - b);
  const summary: { rule: string; final: number; reach: number }[] = [];
  if (regression) {
    lines.push('| rule | source | final normalized test error Σ(z − y)²/Σy², per seed | mean ± std | final test MAE, per seed | final test loss ½·mean(z − y)² (the source\'s "error") |', '|---|---|---|---|---|---|');
  } else {
    lines.push(`| rule | source | final test accuracy %, per seed | mean ± std | seeds ≥ ${100 * TARGET}% | first evaluation step ≥ ${100 * TARGET}%, per seed |`, '|---|---|---|---|---|---|');
  }
  // One row per rule, or per rule and swept value (--grid).
  const groups = r.groups.map((g) => ({ label: g.group, rule: g.rule }));
  for (const { label, rule } of groups) {
    const all = r.runs.filter((x) => x.group === label).sort((a, b) => a.seed - b.seed);
    const finished = all.filter((x) => x.status === 'finished');
    const s = stat(finished.map((x) => value(x.evals.at(-1)!, regression)));
    // A run that stopped (e.g. on a non-finite update) shows where.
    const stopped = (x: (typeof all)[number]) => {
      const at = /at step (\d+)/.exec(x.error ?? '')?.[1];
      return at ? `${x.status} at step ${at}` : x.status;
    };
    const perSeed = (f: (x: (typeof all)[number]) => string) => all.map((x) => (x.status === 'finished' ? f(x) : stopped(x))).join(', ');
    if (regression) {
      lines.push(`| ${label} | ${e.published[label] ?? e.published[rule] ?? '—'} | ${perSeed((x) => exp(value(x.evals.at(-1)!, true)))} | ${exp(s.mean)} ± ${exp(s.std)} | ${perSeed((x) => x.testMae.toFixed(4))} | ${perSeed((x) => exp(x.testLoss))} |`);
      summary.push({ rule: label, final: s.n ? s.mean : Infinity, reach: NaN });
    } else {
      const first = all.map((x) => x.evals.find((v) => v.test.accuracy >= TARGET)?.step);
      const reached = first.filter((v) => v !== undefined).length;
      lines.push(
        `| ${label} | ${e.published[label] ?? e.published[rule] ?? '—'} | ${perSeed((x) => pct(value(x.evals.at(-1)!, false)))} | ${pct(s.mean)} ± ${pct(s.std)} | ${reached}/${all.length} | ${first.map((v) => (v === undefined ? 'never' : String(v))).join(', ')} |`,
      );
      const reachSteps = first.map((v) => v ?? Infinity);
      summary.push({ rule: label, final: s.n ? s.mean : -Infinity, reach: reachSteps.reduce((a, b) => a + b, 0) / reachSteps.length });
    }
  }
  // A task's own measures (test.task in the evaluations), final values per seed.
  const taskKeys = [...new Set(r.runs.flatMap((x) => Object.keys(x.evals.at(-1)?.test.task ?? {})))];
  if (taskKeys.length) {
    lines.push('', `| rule | ${taskKeys.map((k) => `final ${k}, per seed`).join(' | ')} |`, `|---|${taskKeys.map(() => '---|').join('')}`);
    for (const { label } of groups) {
      const all = r.runs.filter((x) => x.group === label).sort((a, b) => a.seed - b.seed);
      lines.push(`| ${label} | ${taskKeys.map((k) => all.map((x) => (x.status === 'finished' ? num(x.evals.at(-1)!.test.task?.[k]) : x.status)).join(', ')).join(' | ')} |`);
    }
  }
  const order = [...summary].sort((a, b) => (regression ? a.final - b.final : b.final - a.final || a.reach - b.reach)).map((x) => x.rule);
  const none = summary.filter((x) => !Number.isFinite(x.final)).map((x) => x.rule);
  lines.push('', `Ordering found (by mean final ${regression ? 'normalized error, lowest first' : 'test accuracy, then mean steps to 95%'}): ${order.join(' > ')}${none.length ? ` (${none.join(', ')}: no run finished)` : ''}.`, '');
  // Every evaluation when there are few (one trial per step), else round steps.
  const shown = steps.filter((s, i) => steps.length <= 12 || i === 0 || i === steps.length - 1 || s % (regression ? 1000 : 100) === 0);
  lines.push(`Learning curves (mean over seeds of the ${regression ? 'normalized test error' : 'test accuracy %'}):`, '');
  lines.push(`| step | ${groups.map((g) => g.label).join(' | ')} |`, `|---|${groups.map(() => '---|').join('')}`);
  for (const step of shown) {
    const cells = groups.map(({ label }) => {
      const vs = r.runs.filter((x) => x.group === label).map((x) => x.evals.find((v) => v.step === step)).filter((v) => v !== undefined).map((v) => value(v!, regression));
      const m = stat(vs).mean;
      return regression ? exp(m) : pct(m);
    });
    lines.push(`| ${step} | ${cells.join(' | ')} |`);
  }
  lines.push('', 'Differences from the source:', ...e.differences.map((d) => `- ${d}`), '');
  return lines.join('\n');
}

export function curvesSpec(e: TaskExperiment, r: ComparisonResults) {
  const regression = isRegression(r.runs);
  const values = r.runs.flatMap((x) => x.evals.map((v) => ({ group: x.group, seed: x.seed, step: v.step, value: regression ? v.test.nmse! : 100 * v.test.accuracy })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: e.title,
    width: 520,
    height: 280,
    data: { values },
    encoding: { x: { field: 'step', type: 'quantitative', title: 'training step' }, color: groupColor(r.groups.map((g) => g.group)) },
    layer: [
      {
        mark: { type: 'line', opacity: 0.3, strokeWidth: 1 },
        encoding: {
          y: { field: 'value', type: 'quantitative', title: regression ? 'normalized test error' : 'test accuracy (%)', ...(regression ? { scale: { type: 'log' } } : {}) },
          detail: { field: 'seed', type: 'nominal' },
        },
      },
      { mark: { type: 'line', strokeWidth: 2.5 }, encoding: { y: { aggregate: 'mean', field: 'value', type: 'quantitative' } } },
    ],
  };
}

const program = new Command('tasks')
  .argument('<name>', `experiment: ${EXPERIMENTS.map((e) => e.name).join(', ')}`)
  .option('--seeds <k>', 'seeds per rule', '4')
  .option('--jobs <j>', 'parallel workers')
  .option('--out <dir>', 'compare directory (default: runs/<experiment>-<seeds>s)')
  .option('--figure <file>', 'write the learning curves as SVG (default: <out>/curves.svg)')
  .action(async (name: string, o: { seeds: string; jobs?: string; out?: string; figure?: string }) => {
    const e = EXPERIMENTS.find((x) => x.name === name);
    if (!e) throw new Error(`unknown experiment ${name}; known: ${EXPERIMENTS.map((x) => x.name).join(', ')}`);
    const seeds = parseFlag('--seeds', o.seeds, parse.positiveInt);
    const out = o.out ?? join('runs', `${e.name}-${seeds}s`);
    const args = ['compare', '--rules', e.rules.join(','), ...e.args, '--seeds', String(seeds), '--out', out];
    if (o.jobs) args.push('--jobs', o.jobs);
    const run = spawnSync(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (run.status !== 0 && !existsSync(join(out, 'compare.json'))) {
      process.stderr.write(`biocredit compare exited with ${run.status} before creating ${out}; nothing to report\n`);
      process.exit(run.status ?? 1);
    }
    if (run.status !== 0) process.stderr.write(`biocredit compare exited with ${run.status}; reporting what finished\n`);
    const results = collectResults(out);
    writeFileSync(o.figure ?? join(out, 'curves.svg'), await renderSvg(curvesSpec(e, results) as never));
    process.stdout.write(report(e, results, seeds, `biocredit ${args.join(' ')}`));
  });

await program.parseAsync(process.argv);
