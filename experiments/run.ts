/**
 * Runs a published comparison with `biocredit compare` and prints a Markdown
 * table of the measured test errors beside the published ones, with the
 * protocol, machine, backend, date and wall time.
 *
 *   node dist/experiments/run.js biotorch-lenet --epochs 2 --seeds 2 [--jobs 2] [--out DIR]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { parse, parseFlag } from '../src/options.js';
import { biotorchLenet } from './feedforward/biotorch-lenet.js';
import { clarkConvConventional, clarkConvVnn, clarkFcConventional, clarkFcVnn } from './gevb/clark2021.js';
import { nokland2016Relu, nokland2016Tanh } from './feedforward/nokland2016.js';
import type { Experiment } from './types.js';

const EXPERIMENTS: Experiment[] = [nokland2016Tanh, nokland2016Relu, biotorchLenet, clarkFcVnn, clarkFcConventional, clarkConvVnn, clarkConvConventional];
const BIN = fileURLToPath(new URL('../bin/biocredit.js', import.meta.url));

interface Stat {
  mean: number;
  std: number;
  n: number;
}

interface Results {
  groups: Record<string, { finished: number; testAccuracy: Stat; bestTestAccuracy: Stat; secPerEpoch: Stat; hiddenAngle: Stat }>;
  runs: { backend?: string; wallSec: number }[];
}

const err = (s: Stat) => (!s.n ? '—' : s.n === 1 ? (100 * (1 - s.mean)).toFixed(2) : `${(100 * (1 - s.mean)).toFixed(2)} ± ${(100 * s.std).toFixed(2)}`);

export function markdown(e: Experiment, r: Results, epochs: number, seeds: number, command: string): string {
  const backend = [...new Set(r.runs.map((x) => x.backend).filter(Boolean))].join(', ');
  const date = new Date().toISOString().slice(0, 10);
  const rows = e.rules.map((rule) => {
    const m = r.groups[rule]!;
    const angle = m.hiddenAngle.n ? `${m.hiddenAngle.mean.toFixed(1)}` : '—';
    return `| ${rule} | ${e.published[rule]?.toFixed(2) ?? '—'} | ${err(m.testAccuracy)} | ${err(m.bestTestAccuracy)} | ${angle} | ${m.secPerEpoch.mean.toFixed(1)} |`;
  });
  return [
    `### ${e.title}`,
    '',
    `Published: ${e.source}; ${e.publishedProtocol}.`,
    `Measured: ${epochs} epoch${epochs > 1 ? 's' : ''}, ${seeds} seed${seeds > 1 ? 's (mean ± std)' : ''}, ${date}, backend ${backend}, ${cpus().length}-core ${cpus()[0]?.model.trim() ?? 'machine'}; the ${r.runs.length} runs' wall times add up to ${(r.runs.reduce((a, x) => a + (x.wallSec || 0), 0) / 60).toFixed(1)} min.`,
    '',
    `    ${command}`,
    '',
    '| rule | published test error % | measured final test error % | measured best-epoch test error % | hidden-layer update angle ° | s / epoch |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    'Differences from the published protocol:',
    ...e.differences.map((d) => `- ${d}`),
    '',
  ].join('\n');
}

const program = new Command('experiments')
  .argument('<name>', `experiment: ${EXPERIMENTS.map((e) => e.name).join(', ')}`)
  .requiredOption('--epochs <n>', 'epochs per run')
  .option('--seeds <k>', 'seeds per rule', '1')
  .option('--jobs <j>', 'parallel workers')
  .option('--out <dir>', 'compare directory (default: runs/<experiment>-<epochs>ep-<seeds>s)')
  .action((name: string, o: { epochs: string; seeds: string; jobs?: string; out?: string }) => {
    const e = EXPERIMENTS.find((x) => x.name === name);
    if (!e) throw new Error(`unknown experiment ${name}; known: ${EXPERIMENTS.map((x) => x.name).join(', ')}`);
    const epochs = parseFlag('--epochs', o.epochs, parse.positiveInt);
    const seeds = parseFlag('--seeds', o.seeds, parse.positiveInt);
    const out = o.out ?? join('runs', `${e.name}-${epochs}ep-${seeds}s`);
    const args = ['compare', '--rules', e.rules.join(','), ...e.args, '--epochs', String(epochs), '--seeds', String(seeds), '--out', out];
    if (o.jobs) args.push('--jobs', o.jobs);
    const r = spawnSync(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) process.stderr.write(`biocredit compare exited with ${r.status}; tabulating what finished\n`);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
    process.stdout.write(markdown(e, results, epochs, seeds, `biocredit ${args.join(' ')}`));
  });

program.parse(process.argv);
