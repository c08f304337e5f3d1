/**
 * Runs a curvature, rich/lazy or compression study (experiments/curvature/definitions.ts):
 * every arm with `biocredit compare` (finished runs are kept, so re-running only
 * reports), the study's `biocredit analyze` calls on every arm, then prints a
 * Markdown report (the measures per group, their rank correlations over runs, the
 * ordering found) and writes the figure as SVG.
 *
 *   node dist/experiments/curvature/run.js liu2022-seq-mnist --seeds 4 [--jobs 2] [--out DIR] [--figure FILE]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { collectResults, stat, type RunResult, type Stat } from '../../src/compare.js';
import { parse, parseFlag } from '../../src/options.js';
import { groupColor, renderSvg } from '../../src/plots.js';
import { spearman } from '../../src/stats.js';
import { STUDIES, type Study } from './definitions.js';

const BIN = fileURLToPath(new URL('../../bin/biocredit.js', import.meta.url));

/** A finished run with what `analyze` stored and what it recorded during training. */
interface StudyRun {
  arm: string;
  group: string;
  seed: number;
  run: RunResult;
  analysis: Record<string, unknown>;
  records: Record<string, number>[];
}

/** The runs of every arm that did not finish, as `arm/group-s<seed>: status (error)` lines. */
function unfinished(study: Study, out: string): string[] {
  return study.arms.flatMap((arm) => {
    const dir = join(out, arm.name);
    if (!existsSync(join(dir, 'compare.json'))) return [`${arm.name}: not run`];
    return collectResults(dir)
      .runs.filter((r) => r.status !== 'finished')
      .map((r) => `${arm.name}/${r.group}-s${r.seed}: ${r.status}${r.error ? ` (${r.error.replace(/; the last good checkpoint.*$/, '')})` : ''}`);
  });
}

function loadRuns(study: Study, out: string): StudyRun[] {
  return study.arms.flatMap((arm) => {
    const dir = join(out, arm.name);
    if (!existsSync(join(dir, 'compare.json'))) return [];
    return collectResults(dir)
      .runs.filter((r) => r.status === 'finished')
      .map((run) => {
        const path = join(run.dir, 'analysis.json');
        const analysis = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {};
        const metrics = join(run.dir, 'metrics.jsonl');
        const records = existsSync(metrics)
          ? readFileSync(metrics, 'utf8')
              .split('\n')
              .filter((l) => l.includes('"type":"analysis"'))
              .map((l) => JSON.parse(l) as Record<string, number>)
          : [];
        return { arm: arm.name, group: run.group, seed: run.seed, run, analysis, records };
      });
  });
}

const fmt = (s: Stat, digits = 3, scale = 1) => (!s.n ? '—' : s.n === 1 ? (scale * s.mean).toPrecision(digits) : `${(scale * s.mean).toPrecision(digits)} ± ${(scale * s.std).toPrecision(2)}`);
const rho = (x: number[], y: number[]) => {
  const r = spearman(x, y);
  return Number.isFinite(r.rho) ? `${r.rho.toFixed(2)} (n = ${r.n})` : `— (n = ${r.n})`;
};

/** Groups in their first-seen order. */
const groupsOf = (runs: { group: string }[]) => [...new Set(runs.map((r) => r.group))];

function header(study: Study, runs: StudyRun[], seeds: number, commands: string[]): string[] {
  const backend = [...new Set(runs.map((r) => r.run.backend).filter(Boolean))].join(', ');
  const wall = runs.reduce((a, r) => a + (Number.isFinite(r.run.wallSec) ? r.run.wallSec : 0), 0) / 60;
  return [
    `### ${study.title}`,
    '',
    `Source: ${study.source}.`,
    '',
    `Reported: ${study.published}.`,
    '',
    `Measured: ${seeds} seed${seeds > 1 ? 's' : ''} per group, ${new Date().toISOString().slice(0, 10)}, backend ${backend}, ${cpus().length}-core ${cpus()[0]?.model.trim() ?? 'machine'}; ${runs.length} finished runs whose training wall times add up to ${wall.toFixed(1)} min.`,
    '',
    ...commands.map((c) => `    ${c}`),
    '',
  ];
}

// --- Liu et al. 2022: generalization gap vs λ_max over J ---

const hessianOf = (r: StudyRun) => r.analysis['hessian'] as { topK?: { values: number[]; converged: boolean } } | undefined;
const gapOf = (r: StudyRun) => r.analysis['gap'] as { lossGap: number; accuracyGap: number; train: { accuracy: number }; test: { accuracy: number } } | undefined;
const lambdaOf = (r: StudyRun) => hessianOf(r)?.topK?.values[0] ?? NaN;

function gapReport(runs: StudyRun[]): string[] {
  const groups = groupsOf(runs);
  const lines = [
    '| rule | runs | test acc % | train acc % | loss gap (test − train) | accuracy gap (train − test, pts) | λ_max over J (final) |',
    '|---|---|---|---|---|---|---|',
  ];
  const summary: { group: string; lambda: Stat; gap: Stat; acc: Stat }[] = [];
  for (const g of groups) {
    const rs = runs.filter((r) => r.group === g);
    const lambda = stat(rs.map(lambdaOf));
    const gap = stat(rs.map((r) => gapOf(r)?.lossGap ?? NaN));
    const acc = stat(rs.map((r) => gapOf(r)?.test.accuracy ?? NaN));
    lines.push(
      `| ${g} | ${rs.length} | ${fmt(acc, 3, 100)} | ${fmt(stat(rs.map((r) => gapOf(r)?.train.accuracy ?? NaN)), 3, 100)} | ${fmt(gap)} | ${fmt(stat(rs.map((r) => gapOf(r)?.accuracyGap ?? NaN)), 2, 100)} | ${fmt(lambda)} |`,
    );
    summary.push({ group: g, lambda, gap, acc });
  }
  const lam = runs.map(lambdaOf);
  lines.push(
    '',
    `Rank correlation over the ${runs.length} runs (final checkpoints): Spearman ρ(λ_max, loss gap) = ${rho(lam, runs.map((r) => gapOf(r)?.lossGap ?? NaN))}; ρ(λ_max, accuracy gap) = ${rho(lam, runs.map((r) => gapOf(r)?.accuracyGap ?? NaN))}.`,
  );
  const during = runs.flatMap((r) => r.records.filter((x) => x['step']! > 0));
  if (during.length) {
    lines.push(
      `Over runs and the records taken during training (λ_max over J and the gap on the first --analyze-points examples of each split, step > 0; ${during.length} records): ρ(λ_max, loss gap) = ${rho(
        during.map((x) => x['lambdaMax']!),
        during.map((x) => x['lossGap']!),
      )}.`,
    );
    const steps = [...new Set(during.map((x) => x['step']!))].sort((a, b) => a - b);
    lines.push('', `λ_max over J during training (mean over seeds; ${steps.length} records per run):`, '', `| step | ${groups.join(' | ')} |`, `|---|${groups.map(() => '---|').join('')}`);
    for (const step of steps) lines.push(`| ${step} | ${groups.map((g) => fmt(stat(runs.filter((r) => r.group === g).map((r) => r.records.find((x) => x['step'] === step)?.['lambdaMax'] ?? NaN)))).join(' | ')} |`);
  }
  const byLambda = [...summary].sort((a, b) => b.lambda.mean - a.lambda.mean).map((s) => s.group);
  const byGap = [...summary].sort((a, b) => b.gap.mean - a.gap.mean).map((s) => s.group);
  lines.push('', `Ordering found, by mean final λ_max (sharpest first): ${byLambda.join(' > ')}; by mean loss gap (largest first): ${byGap.join(' > ')}.`);
  // A group swept from another (`eprop-lr-decay=4` from `eprop`): the change the swept setting makes.
  const variants = summary.flatMap((v) => {
    const base = summary.filter((b) => v.group.startsWith(`${b.group}-`)).sort((a, b) => b.group.length - a.group.length)[0];
    return base ? [{ base, v }] : [];
  });
  if (variants.length) {
    lines.push('', '| rule | setting | λ_max over J | loss gap | test acc % |', '|---|---|---|---|---|');
    for (const { base, v } of variants) {
      lines.push(`| ${base.group} | ${v.group.slice(base.group.length + 1)} | ${fmt(base.lambda)} → ${fmt(v.lambda)} | ${fmt(base.gap)} → ${fmt(v.gap)} | ${fmt(base.acc, 3, 100)} → ${fmt(v.acc, 3, 100)} |`);
    }
  }
  return lines;
}

function gapFigure(study: Study, runs: StudyRun[]) {
  const values = runs.map((r) => ({ group: r.group, seed: r.seed, lambdaMax: lambdaOf(r), lossGap: gapOf(r)?.lossGap ?? NaN })).filter((v) => v.lambdaMax > 0 && Number.isFinite(v.lossGap));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: study.title,
    width: 460,
    height: 300,
    data: { values },
    mark: { type: 'point', filled: true, size: 80 },
    encoding: {
      x: { field: 'lambdaMax', type: 'quantitative', title: 'λ_max of the loss Hessian over J (final)', scale: { type: 'log' } },
      y: { field: 'lossGap', type: 'quantitative', title: 'generalization gap (test − train loss)' },
      color: groupColor(groupsOf(runs)),
    },
  };
}

// --- Liu et al. 2023: rich vs lazy ---

interface RichLazy {
  weightChange: number;
  representationAlignment: number;
  kernelAlignment: number;
  signSimilarity: number;
}
const richOf = (r: StudyRun) => r.analysis['richLazy'] as RichLazy | undefined;
const rankOf = (r: StudyRun) => Number(r.run.values['init-rank']);
const RICH_MEASURES: [keyof RichLazy, string][] = [
  ['weightChange', '‖J_T − J_0‖_F'],
  ['representationAlignment', 'representation alignment'],
  ['kernelAlignment', 'tangent-kernel alignment (J)'],
  ['signSimilarity', 'sign similarity'],
];

function richLazyReport(runs: StudyRun[]): string[] {
  const lines = [`| task | initial rank r | runs | test acc % | ${RICH_MEASURES.map(([, t]) => t).join(' | ')} |`, `|---|---|---|---|${RICH_MEASURES.map(() => '---|').join('')}`];
  const arms = [...new Set(runs.map((r) => r.arm))];
  for (const arm of arms) {
    const ranks = [...new Set(runs.filter((r) => r.arm === arm).map(rankOf))].sort((a, b) => a - b);
    for (const rank of ranks) {
      const rs = runs.filter((r) => r.arm === arm && rankOf(r) === rank);
      lines.push(`| ${arm} | ${rank} | ${rs.length} | ${fmt(stat(rs.map((r) => r.run.testAccuracy)), 3, 100)} | ${RICH_MEASURES.map(([k]) => fmt(stat(rs.map((r) => richOf(r)?.[k] ?? NaN)))).join(' | ')} |`);
    }
  }
  lines.push('', 'Rank correlation of the initial rank with each measure, per task (Spearman ρ over runs; richer learning at low rank means ρ < 0 for ‖ΔJ‖ and ρ > 0 for the alignments):', '');
  lines.push(`| task | ${RICH_MEASURES.map(([, t]) => `ρ(r, ${t})`).join(' | ')} |`, `|---|${RICH_MEASURES.map(() => '---|').join('')}`);
  for (const arm of arms) {
    const rs = runs.filter((r) => r.arm === arm);
    lines.push(`| ${arm} | ${RICH_MEASURES.map(([k]) => rho(rs.map(rankOf), rs.map((r) => richOf(r)?.[k] ?? NaN))).join(' | ')} |`);
  }
  return lines;
}

function richLazyFigure(study: Study, runs: StudyRun[]) {
  const values = runs.flatMap((r) => RICH_MEASURES.map(([k, t]) => ({ task: r.arm, rank: rankOf(r), seed: r.seed, measure: t, value: richOf(r)?.[k] ?? NaN }))).filter((v) => Number.isFinite(v.value));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: study.title,
    data: { values },
    facet: { column: { field: 'measure', type: 'nominal', title: null, sort: RICH_MEASURES.map(([, t]) => t) } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 170,
      height: 200,
      layer: [
        { mark: { type: 'point', opacity: 0.45 }, encoding: { x: { field: 'rank', type: 'quantitative', scale: { type: 'log' }, title: 'initial rank r' }, y: { field: 'value', type: 'quantitative', title: null }, color: { field: 'task', type: 'nominal' } } },
        { mark: { type: 'line', point: true }, encoding: { x: { field: 'rank', type: 'quantitative', scale: { type: 'log' } }, y: { aggregate: 'mean', field: 'value', type: 'quantitative' }, color: { field: 'task', type: 'nominal' } } },
      ],
    },
  };
}

// --- Chen et al. 2023: sharpness vs compression ---

interface Compression {
  trace: number;
  volume: number;
  sensitivity: number;
  dimensionality: number;
  bound: number;
  holds: boolean | undefined;
}
const COMPRESSION: [keyof Compression, string][] = [
  ['volume', 'output log-volume ratio'],
  ['sensitivity', 'max local sensitivity'],
  ['dimensionality', 'local dimensionality'],
];

/** The measures of one training-time record (--analyze hessian,input-jacobian --analyze-trace). */
function compressionOf(x: Record<string, number>): Compression {
  const bound = x['sensitivityBound'] ?? NaN;
  return {
    trace: x['trace'] ?? NaN,
    volume: x['outputVolume'] ?? NaN,
    sensitivity: x['outputSensitivity'] ?? NaN,
    dimensionality: x['outputDimensionality'] ?? NaN,
    bound,
    holds: Number.isFinite(bound) ? x['outputSensitivity']! <= bound : undefined,
  };
}

/** Late-training checkpoints: a run's records from the second half of its training (step ≥ half its last record's). */
function lateRecords(r: StudyRun): Record<string, number>[] {
  const last = Math.max(0, ...r.records.map((x) => x['step']!));
  return r.records.filter((x) => x['step']! > 0 && x['step']! >= last / 2);
}

const finalRecord = (r: StudyRun) => r.records.reduce<Record<string, number> | undefined>((a, x) => (!a || x['step']! > a['step']! ? x : a), undefined) ?? {};

function compressionReport(runs: StudyRun[]): string[] {
  const groups = groupsOf(runs);
  const lines = [
    'At the end of training (mean ± std over seeds); the bound column counts the late checkpoints where it held:',
    '',
    `| group | runs | test acc % | Hessian trace | ${COMPRESSION.map(([, t]) => t).join(' | ')} | sensitivity bound | bound holds |`,
    `|---|---|---|---|${COMPRESSION.map(() => '---|').join('')}---|---|`,
  ];
  for (const g of groups) {
    const rs = runs.filter((r) => r.group === g);
    const c = rs.map((r) => compressionOf(finalRecord(r)));
    const late = rs.flatMap(lateRecords).map(compressionOf);
    const checked = late.filter((x) => x.holds !== undefined);
    lines.push(
      `| ${g} | ${rs.length} | ${fmt(stat(rs.map((r) => r.run.testAccuracy)), 3, 100)} | ${fmt(stat(c.map((x) => x.trace)))} | ${COMPRESSION.map(([k]) => fmt(stat(c.map((x) => x[k] as number)))).join(' | ')} | ${fmt(stat(c.map((x) => x.bound)))} | ${checked.length ? `${checked.filter((x) => x.holds).length}/${checked.length}` : '—'} |`,
    );
  }
  const correlations = (cs: Compression[]) => COMPRESSION.map(([k, t]) => `${t} ${rho(cs.map((x) => x.trace), cs.map((x) => x[k] as number))}`).join('; ');
  const late = runs.flatMap(lateRecords).map(compressionOf);
  lines.push(
    '',
    `Spearman ρ of the Hessian trace with each measure over the ${runs.length} runs' late checkpoints (records in the second half of training, step > 0): ${correlations(late)}.`,
    `Over the final checkpoints only (one per run): ${correlations(runs.map((r) => compressionOf(finalRecord(r))))}.`,
    `Within each arm (late checkpoints): ${[...new Set(runs.map((r) => r.arm))].map((arm) => `${arm}: ${correlations(runs.filter((r) => r.arm === arm).flatMap(lateRecords).map(compressionOf))}`).join('; ')}.`,
  );
  return lines;
}

function compressionFigure(study: Study, runs: StudyRun[]) {
  const values = runs
    .flatMap((r) =>
      lateRecords(r).flatMap((x) => {
        const c = compressionOf(x);
        return COMPRESSION.map(([k, t]) => ({ group: r.group, seed: r.seed, step: x['step'], trace: c.trace, measure: t, value: c[k] as number }));
      }),
    )
    .filter((v) => v.trace > 0 && Number.isFinite(v.value));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${study.title}: late-training checkpoints`,
    data: { values },
    facet: { column: { field: 'measure', type: 'nominal', title: null, sort: COMPRESSION.map(([, t]) => t) } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 200,
      height: 220,
      mark: { type: 'point', filled: true, size: 50 },
      encoding: {
        x: { field: 'trace', type: 'quantitative', title: 'Hessian trace', scale: { type: 'log' } },
        y: { field: 'value', type: 'quantitative', title: null },
        color: groupColor(groupsOf(runs)),
      },
    },
  };
}

const REPORTS = {
  'gap-vs-sharpness': { report: gapReport, figure: gapFigure },
  'rich-lazy': { report: richLazyReport, figure: richLazyFigure },
  compression: { report: compressionReport, figure: compressionFigure },
} as const;

function run(args: string[]): number | null {
  return spawnSync(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'inherit'] }).status;
}

const program = new Command('curvature')
  .argument('<name>', `study: ${STUDIES.map((s) => s.name).join(', ')}`)
  .option('--seeds <k>', 'seeds per group', '3')
  .option('--jobs <j>', 'parallel workers')
  .option('--out <dir>', 'directory of the arms\' compare directories (default: runs/<study>-<seeds>s)')
  .option('--figure <file>', 'write the figure as SVG (default: <out>/figure.svg)')
  .action(async (name: string, o: { seeds: string; jobs?: string; out?: string; figure?: string }) => {
    const study = STUDIES.find((s) => s.name === name);
    if (!study) throw new Error(`unknown study ${name}; known: ${STUDIES.map((s) => s.name).join(', ')}`);
    const seeds = parseFlag('--seeds', o.seeds, parse.positiveInt);
    const out = o.out ?? join('runs', `${study.name}-${seeds}s`);
    const commands: string[] = [];
    for (const arm of study.arms) {
      const dir = join(out, arm.name);
      const args = ['compare', ...arm.args, '--seeds', String(seeds), ...(o.jobs ? ['--jobs', o.jobs] : []), '--out', dir];
      commands.push(`biocredit ${args.join(' ')}`);
      const status = run(args);
      if (status !== 0) process.stderr.write(`biocredit compare (${arm.name}) exited with ${status}; reporting what finished\n`);
      for (const flags of arm.analyze ?? study.analyze) {
        const a = ['analyze', dir, ...flags, '--quiet'];
        commands.push(`biocredit ${a.join(' ')}`);
        if (existsSync(join(dir, 'compare.json')) && run(a) !== 0) process.stderr.write(`biocredit analyze ${dir} failed; its runs lack those measures\n`);
      }
    }
    const runs = loadRuns(study, out);
    const { report, figure } = REPORTS[study.kind];
    writeFileSync(o.figure ?? join(out, 'figure.svg'), await renderSvg(figure(study, runs) as never));
    const missing = unfinished(study, out);
    const left = missing.length ? ['', `Runs left out (not finished): ${missing.join('; ')}.`] : [];
    process.stdout.write([...header(study, runs, seeds, commands), ...report(runs), ...left, '', 'Differences from the paper:', ...study.differences.map((d) => `- ${d}`), ''].join('\n'));
  });

await program.parseAsync(process.argv);
