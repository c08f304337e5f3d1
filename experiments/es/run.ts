/**
 * Runs an evolution-strategies experiment (definitions.ts): every arm's
 * `biocredit train` command once per seed, `--jobs` at a time, each in its own
 * process (a finished run is kept, an interrupted one resumed). Then prints a
 * Markdown report — the final test measure per arm and seed, the measure each
 * arm had reached at equal wall times, the training loss, and the update norms
 * (for a gradient rule the norm of its gradient, so BPTT's exploding or
 * vanishing gradients show) — and writes the curves as an SVG.
 *
 *   node dist/experiments/es/run.js <mnist|morris-lecar-integration|morris-lecar-memory|rober> [--seeds 3] [--jobs 2] [--out DIR] [--figure FILE]
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { stat } from '../../src/compare.js';
import { parse, parseFlag } from '../../src/options.js';
import { renderSvg, SCHEMA } from '../../src/plots.js';
import { ES_EXPERIMENTS, type EsExperiment } from './definitions.js';

const BIN = fileURLToPath(new URL('../../bin/biocredit.js', import.meta.url));

interface Run {
  arm: string;
  seed: number;
  dir: string;
  status: string;
  wallSec: number;
  backend: string;
  /** Evaluations: step, wall seconds, test measure, test loss. */
  evals: { step: number; wallSec: number; value: number; loss: number }[];
  /** Logged training steps: running loss and the step's update norm. */
  logs: { step: number; loss: number; updateNorm: number }[];
}

function readRun(e: EsExperiment, arm: string, seed: number, dir: string): Run {
  const summaryPath = join(dir, 'summary.json');
  const summary = existsSync(summaryPath) ? (JSON.parse(readFileSync(summaryPath, 'utf8')) as { status: string; wallSec?: number; backend?: string }) : { status: 'missing' };
  const run: Run = { arm, seed, dir, status: summary.status, wallSec: summary.wallSec ?? NaN, backend: summary.backend ?? '', evals: [], logs: [] };
  const metricsPath = join(dir, 'metrics.jsonl');
  if (!existsSync(metricsPath)) return run;
  for (const line of readFileSync(metricsPath, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let r: { type: string; step: number; wallSec: number; loss: number; updateNorm: number; test: { accuracy: number; loss: number; task?: Record<string, number> } };
    try {
      r = JSON.parse(line) as typeof r;
    } catch {
      continue;
    }
    if (r.type === 'eval') run.evals.push({ step: r.step, wallSec: r.wallSec, value: e.metric === 'accuracy' ? r.test.accuracy : (r.test.task?.[e.metric] ?? NaN), loss: r.test.loss });
    else if (r.type === 'train') run.logs.push({ step: r.step, loss: r.loss, updateNorm: r.updateNorm });
  }
  return run;
}

/** Runs every arm × seed not yet finished, `jobs` processes at a time. */
async function runAll(e: EsExperiment, seeds: number, jobs: number, out: string): Promise<void> {
  const todo = e.arms.flatMap((arm) => Array.from({ length: seeds }, (_, seed) => ({ arm, seed, dir: join(out, `${arm.label}-s${seed}`) })));
  const pending = todo.filter((t) => readRun(e, t.arm.label, t.seed, t.dir).status !== 'finished');
  const one = (t: (typeof todo)[number]) =>
    new Promise<void>((done) => {
      const args = existsSync(join(t.dir, 'config.json')) ? ['train', '--resume', t.dir] : ['train', ...t.arm.args, '--seed', String(t.seed), '--out', t.dir];
      process.stderr.write(`${t.arm.label} seed ${t.seed}: biocredit ${args.join(' ')}\n`);
      const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'ignore'] });
      child.on('close', (code) => {
        process.stderr.write(`${t.arm.label} seed ${t.seed}: exited ${code}\n`);
        done();
      });
    });
  const workers = Array.from({ length: Math.min(jobs, pending.length) }, async () => {
    for (let t = pending.shift(); t; t = pending.shift()) await one(t);
  });
  await Promise.all(workers);
}

const fmt = (e: EsExperiment, v: number) => (!Number.isFinite(v) ? '—' : e.metric === 'accuracy' ? (100 * v).toFixed(1) : v.toFixed(4));
const sci = (v: number) => (Number.isFinite(v) ? v.toExponential(2) : '—');
const median = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};
/** The measure a run had reached by `sec` seconds of wall time: its last evaluation at or before then. */
const at = (r: Run, sec: number) => r.evals.filter((v) => v.wallSec <= sec).at(-1)?.value ?? NaN;

export function report(e: EsExperiment, runs: Run[], seeds: number, command: string): string {
  const unit = e.metric === 'accuracy' ? 'test accuracy %' : 'test MAE on scaled species';
  const total = runs.reduce((a, r) => a + (Number.isFinite(r.wallSec) ? r.wallSec : 0), 0);
  const lines = [
    `### ${e.title}`,
    '',
    `Source: ${e.source}.`,
    `Measured: ${seeds} seed${seeds > 1 ? 's' : ''} per arm, ${new Date().toISOString().slice(0, 10)}, backend ${[...new Set(runs.map((r) => r.backend).filter(Boolean))].join(', ')}, ${cpus().length}-core ${cpus()[0]?.model.trim() ?? 'machine'}; the ${runs.length} runs' wall times add up to ${(total / 60).toFixed(1)} min.`,
    '',
    `    ${command}`,
    '',
    ...e.arms.map((a) => `- ${a.label}: \`biocredit train ${a.args.join(' ')} --seed S\``),
    '',
    `| arm | final ${unit}, per seed | mean ± std | best ${unit}, per seed | wall time per run, min | training loss first → last logged (mean over seeds) | update norm median [min, max] over logged steps | logged steps with an update norm over 10× its run's median, per seed |`,
    '|---|---|---|---|---|---|---|---|',
  ];
  const better = (a: number, b: number) => (e.metric === 'accuracy' ? a > b : a < b);
  for (const arm of e.arms) {
    const mine = runs.filter((r) => r.arm === arm.label);
    const finals = mine.map((r) => r.evals.at(-1)?.value ?? NaN);
    const s = stat(finals.filter(Number.isFinite));
    const best = mine.map((r) => r.evals.reduce((b, v) => (better(v.value, b) ? v.value : b), e.metric === 'accuracy' ? -Infinity : Infinity));
    const norms = mine.flatMap((r) => r.logs.map((l) => l.updateNorm));
    const first = stat(mine.map((r) => r.logs[0]?.loss ?? NaN).filter(Number.isFinite)).mean;
    const last = stat(mine.map((r) => r.logs.at(-1)?.loss ?? NaN).filter(Number.isFinite)).mean;
    const status = (r: Run, v: string) => (r.status === 'finished' ? v : `${v} (${r.status})`);
    lines.push(
      `| ${arm.label} | ${mine.map((r, i) => status(r, fmt(e, finals[i]!))).join(', ')} | ${fmt(e, s.mean)} ± ${fmt(e, s.std)} | ${best.map((v) => fmt(e, v)).join(', ')} | ${mine.map((r) => (r.wallSec / 60).toFixed(1)).join(', ')} | ${first.toPrecision(3)} → ${last.toPrecision(3)} | ${sci(median(norms))} [${sci(Math.min(...norms))}, ${sci(Math.max(...norms))}] | ${mine.map((r) => { const m = median(r.logs.map((l) => l.updateNorm)); return `${r.logs.filter((l) => l.updateNorm > 10 * m).length}/${r.logs.length}`; }).join(', ')} |`,
    );
  }
  // Equal wall time: fractions of the shortest arm's mean run time, and of the longest's when
  // the arms' times differ (an arm that has finished keeps its final value).
  const armTime = e.arms.map((a) => stat(runs.filter((r) => r.arm === a.label).map((r) => r.wallSec).filter(Number.isFinite)).mean).filter(Number.isFinite);
  const [shortest, longest] = [Math.min(...armTime), Math.max(...armTime)];
  if (armTime.length) {
    const fractions = [0.1, 0.25, 0.5, 1];
    const budgets = [...fractions.map((f) => f * shortest), ...(longest > 2 * shortest ? fractions.map((f) => f * longest) : [])]
      .map((t) => Math.max(1, Math.round(t)))
      .sort((a, b) => a - b)
      // Budgets within 10% of the one before say the same.
      .filter((t, i, all) => i === 0 || t > 1.1 * all[i - 1]!);
    lines.push('', `${unit[0]!.toUpperCase()}${unit.slice(1)} at equal wall time (the last evaluation by then, mean over seeds; the arms take ${(shortest / 60).toFixed(1)}–${(longest / 60).toFixed(1)} min):`, '');
    lines.push(`| wall time | ${e.arms.map((a) => a.label).join(' | ')} |`, `|---|${e.arms.map(() => '---|').join('')}`);
    for (const b of budgets) lines.push(`| ${b} s | ${e.arms.map((a) => fmt(e, stat(runs.filter((r) => r.arm === a.label).map((r) => at(r, b)).filter(Number.isFinite)).mean)).join(' | ')} |`);
    // How long each arm needs to do as well as the weakest arm does at its end.
    const finals = e.arms.map((a) => stat(runs.filter((r) => r.arm === a.label).map((r) => r.evals.at(-1)?.value ?? NaN).filter(Number.isFinite)).mean).filter(Number.isFinite);
    const target = e.metric === 'accuracy' ? Math.min(...finals) : Math.max(...finals);
    const reach = (r: Run) => r.evals.find((v) => !better(target, v.value))?.wallSec;
    // Only when it is progress: no run is there at its first evaluation.
    if (finals.length && runs.every((r) => r.evals.length && better(target, r.evals[0]!.value))) {
      lines.push(
        '',
        `Wall time to first reach ${fmt(e, target)} (the weakest arm's final mean), per seed: ${e.arms.map((a) => `${a.label} ${runs.filter((r) => r.arm === a.label).map((r) => { const t = reach(r); return t === undefined ? 'never' : `${t.toFixed(0)} s`; }).join(', ')}`).join('; ')}.`,
      );
    }
  }
  // By step, which the machine's load does not change (runs that shared a core took longer).
  const steps = [...new Set(runs.flatMap((r) => r.evals.map((v) => v.step)))].sort((a, b) => a - b);
  const shown = steps.length <= 12 ? steps : steps.filter((_, i) => i % Math.ceil(steps.length / 10) === 0 || i === steps.length - 1);
  lines.push('', `${unit[0]!.toUpperCase()}${unit.slice(1)} by step (mean over seeds):`, '', `| step | ${e.arms.map((a) => a.label).join(' | ')} |`, `|---|${e.arms.map(() => '---|').join('')}`);
  for (const step of shown) {
    lines.push(`| ${step} | ${e.arms.map((a) => fmt(e, stat(runs.filter((r) => r.arm === a.label).map((r) => r.evals.find((v) => v.step === step)?.value ?? NaN).filter(Number.isFinite)).mean)).join(' | ')} |`);
  }
  lines.push('', 'Differences from the source:', ...e.differences.map((d) => `- ${d}`), '');
  return lines.join('\n');
}

/** Three panels: the test measure against wall time, the training loss and the update norm against the step. */
export function figureSpec(e: EsExperiment, runs: Run[]) {
  const arms = e.arms.map((a) => a.label);
  const color = { field: 'arm', type: 'nominal', sort: arms, scale: { domain: arms }, title: null };
  const line = (values: object[], x: object, y: object, title: string) => ({
    title,
    width: 300,
    height: 200,
    data: { values },
    mark: { type: 'line', strokeWidth: 1.5, opacity: 0.8 },
    encoding: { x, y, color, detail: { field: 'seed', type: 'nominal' } },
  });
  const evals = runs.flatMap((r) => r.evals.map((v) => ({ arm: r.arm, seed: r.seed, wallSec: v.wallSec, value: e.metric === 'accuracy' ? 100 * v.value : v.value })));
  const logs = runs.flatMap((r) => r.logs.filter((l) => l.loss > 0 && l.updateNorm > 0).map((l) => ({ arm: r.arm, seed: r.seed, ...l })));
  return {
    $schema: SCHEMA,
    title: e.title,
    hconcat: [
      line(evals, { field: 'wallSec', type: 'quantitative', title: 'wall time (s)' }, { field: 'value', type: 'quantitative', title: e.metric === 'accuracy' ? 'test accuracy (%)' : 'test MAE, scaled species', scale: { zero: false } }, 'test measure'),
      line(logs, { field: 'step', type: 'quantitative', title: 'step' }, { field: 'loss', type: 'quantitative', title: 'training loss', scale: { type: 'log' } }, 'training loss'),
      line(logs, { field: 'step', type: 'quantitative', title: 'step' }, { field: 'updateNorm', type: 'quantitative', title: '‖gradient‖ (bp, bptt) or ‖Δθ‖ (es)', scale: { type: 'log' } }, 'update norm'),
    ],
  };
}

const program = new Command('es-experiments')
  .argument('<name>', `experiment: ${ES_EXPERIMENTS.map((e) => e.name).join(', ')}`)
  .option('--seeds <k>', 'seeds per arm', '3')
  .option('--jobs <j>', 'runs at a time, one process each', '2')
  .option('--out <dir>', 'directory of the runs (default: runs/es-<experiment>)')
  .option('--figure <file>', 'write the curves as SVG (default: <out>/curves.svg)')
  .action(async (name: string, o: { seeds: string; jobs: string; out?: string; figure?: string }) => {
    const e = ES_EXPERIMENTS.find((x) => x.name === name);
    if (!e) throw new Error(`unknown experiment ${name}; known: ${ES_EXPERIMENTS.map((x) => x.name).join(', ')}`);
    const seeds = parseFlag('--seeds', o.seeds, parse.positiveInt);
    const jobs = parseFlag('--jobs', o.jobs, parse.positiveInt);
    const out = o.out ?? join('runs', `es-${e.name}`);
    await runAll(e, seeds, jobs, out);
    const runs = e.arms.flatMap((a) => Array.from({ length: seeds }, (_, s) => readRun(e, a.label, s, join(out, `${a.label}-s${s}`))));
    writeFileSync(o.figure ?? join(out, 'curves.svg'), await renderSvg(figureSpec(e, runs) as never));
    process.stdout.write(report(e, runs, seeds, `node dist/experiments/es/run.js ${name} --seeds ${seeds} --jobs ${jobs}`));
  });

await program.parseAsync(process.argv);
