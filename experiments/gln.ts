/**
 * Lippl, Abbott, Chung 2022, gated linear networks on binary MNIST (0–4 vs 5–9,
 * pixels in [−1, 1] plus a bias input, n = 2000 training examples): trains each
 * network with SGD as the authors did, runs `biocredit analyze --implicit-bias`,
 * and prints a Markdown table beside the authors' numbers.
 *
 * - `deep`: one gated hidden layer (s = 1) of 10, 20, 50, 100 units and a linear
 *   readout; gradient descent, the group-norm max-margin predictor and the plain
 *   L2 max-margin predictor.
 * - `shallow`: one gated unit with s = 0..9 hyperplanes; gradient descent and the
 *   per-context SVMs.
 *
 *   node dist/experiments/gln.js deep|shallow [--seeds 1] [--jobs 2] [--out DIR]
 *
 * Runs that finished (summary.json) and analyses already made are reused.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import type { ImplicitBiasResult } from '../analyses/implicit-bias.js';
import type { RunAnalysis } from '../src/analysis/contract.js';
import { parse, parseFlag } from '../src/options.js';

const BIN = fileURLToPath(new URL('../bin/biocredit.js', import.meta.url));

/** The authors' protocol (sflippl/implicit-bias-glns): SGD 0.04, batch 128, 200·2000/n epochs, lr × 0.25 halfway. */
const N = 2000;
const STEPS_PER_EPOCH = Math.ceil(N / 128);
const EPOCHS = 200;
const DATA = ['--dataset', 'mnist', '--binary', '0-4:5-9', '--pixels', '-1..1', '--bias-input', '--train-size', String(N)];
const SGD = ['--rule', 'bp', '--optimizer', 'sgd', '--lr', '0.04', '--batch-size', '128', '--epochs', String(EPOCHS), '--lr-decay', '0.25', '--lr-decay-every', String((EPOCHS / 2) * STEPS_PER_EPOCH)];
const RECORD = ['--eval-every', String(20 * STEPS_PER_EPOCH), '--analyze', 'margin', '--analyze-every', String(STEPS_PER_EPOCH * 5), '--analyze-points', String(N)];

interface Config {
  name: string;
  label: string;
  model: string[];
  /** The authors' held-out errors in % (median thresholds, seeds 1–3 where present). */
  published: Record<string, string>;
}

const DEEP: Config[] = [
  { name: 'deep-h10', label: '10', model: ['--hidden', '10'], published: { gd: '11.8', gln: '12.7 (12.2–13.3)', l2: '34.8 (33.3–36.1)' } },
  { name: 'deep-h20', label: '20', model: ['--hidden', '20'], published: { gd: '10.4', gln: '10.0 (9.8–10.2)', l2: '24.5 (23.4–25.1)' } },
  { name: 'deep-h50', label: '50', model: ['--hidden', '50'], published: { gd: '9.0', gln: '7.8 (7.3–8.2)', l2: '14.1 (13.5–14.8)' } },
  { name: 'deep-h100', label: '100', model: ['--hidden', '100'], published: { gd: '8.3', gln: '7.6', l2: '10.0 (9.9–10.1)' } },
].map((c) => ({ ...c, model: ['--model', 'gln', '--gates', '1', ...c.model] }));

const SHALLOW_SVM: Record<number, string> = { 0: '22.6', 1: '22.0', 2: '19.7', 3: '17.6', 4: '15.1', 5: '17.1', 6: '17.7', 7: '21.3', 8: '26.4', 9: '31.4' };
const SHALLOW_GD: Record<number, string> = { 0: '16.3', 1: '16.1', 4: '14.9', 9: '30.6' };
const SHALLOW: Config[] = Array.from({ length: 10 }, (_, s) => ({
  name: `shallow-s${s}`,
  label: String(s),
  model: ['--model', 'gln', '--hidden', '', '--gates', String(s)],
  published: { gd: SHALLOW_GD[s] ?? '—', gln: SHALLOW_SVM[s]! },
}));

function run(args: string[], log: (s: string) => void): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? res(out) : rej(new Error(`biocredit ${args.join(' ')} exited ${code}: ${err.trim().split('\n').at(-1)}`))));
    log(`biocredit ${args.join(' ')}`);
  });
}

async function trainAndAnalyze(c: Config, seed: number, dir: string, log: (s: string) => void): Promise<RunAnalysis> {
  const runDir = join(dir, `${c.name}-s${seed}`);
  if (!existsSync(join(runDir, 'summary.json'))) {
    const args = ['train', ...DATA, ...c.model, ...SGD, ...RECORD, '--seed', String(seed), '--quiet'];
    await run(existsSync(join(runDir, 'config.json')) ? ['train', '--resume', runDir, '--quiet'] : [...args, '--out', runDir], log);
  }
  const out = await run(['analyze', runDir, '--implicit-bias', '--no-gap', '--json', '--quiet'], log);
  return (JSON.parse(out) as { runs: RunAnalysis[] }).runs[0]!;
}

const pct = (v: number) => (100 * v).toFixed(1);
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const cell = (v: number[]) => (v.length > 1 ? `${pct(mean(v))} (${v.map(pct).join(', ')})` : pct(v[0]!));

function table(kind: 'deep' | 'shallow', configs: Config[], results: Map<string, RunAnalysis[]>): string[] {
  const deep = kind === 'deep';
  const head = deep
    ? ['| hidden | GD test error % | paper | group-norm max margin % | paper | L2 max margin % | paper | inconsistency GD vs group norm % | GD vs L2 % | γ_GD / γ* | cos(β_GD, β*) |', '|---|---|---|---|---|---|---|---|---|---|---|']
    : ['| s | GD test error % | paper | SVM per context % | paper | inconsistency GD vs SVM % | γ_GD / γ* | cos(β_GD, β*) |', '|---|---|---|---|---|---|---|---|'];
  const rows = configs.map((c) => {
    const rs = (results.get(c.name) ?? []).map((a) => a['implicitBias'] as ImplicitBiasResult);
    const col = (f: (r: (typeof rs)[number]) => number) => cell(rs.map(f));
    // A max-margin predictor exists only on separable data (JSON turns its NaN margin into null).
    const ratio = rs.map((r) => (r.maxMargin.separable ? (r.gd.normalizedMargin / r.maxMargin.normalizedMargin).toFixed(3) : '—')).join(', ');
    const cos = rs.map((r) => r.maxMargin.cosine.toFixed(2)).join(', ');
    const flag = rs.some((r) => !r.maxMargin.separable) ? ' (not separable)' : rs.some((r) => !r.maxMargin.converged) ? ' (not converged)' : '';
    if (deep) {
      return `| ${c.label} | ${col((r) => r.gd.testError)} | ${c.published['gd']} | ${col((r) => r.maxMargin.testError)}${flag} | ${c.published['gln']} | ${col((r) => r.l2!.testError)} | ${c.published['l2']} | ${col((r) => r.maxMargin.inconsistency)} | ${col((r) => r.l2!.inconsistency)} | ${ratio} | ${cos} |`;
    }
    return `| ${c.label} | ${col((r) => r.gd.testError)} | ${c.published['gd']} | ${col((r) => r.maxMargin.testError)}${flag} | ${c.published['gln']} | ${col((r) => r.maxMargin.inconsistency)} | ${ratio} | ${cos} |`;
  });
  return [...head, ...rows];
}

async function main(): Promise<void> {
  const program = new Command('gln')
    .argument('<which>', 'deep or shallow')
    .option('--seeds <k>', 'seeds per network (each seed draws its own training subset and gates)', '1')
    .option('--jobs <n>', 'networks trained in parallel', String(Math.min(2, cpus().length)))
    .option('--out <dir>', 'where the runs go', 'runs/experiments/gln')
    .parse();
  const which = program.args[0];
  if (which !== 'deep' && which !== 'shallow') throw new Error(`expected deep or shallow, got ${which}`);
  const o = program.opts<{ seeds: string; jobs: string; out: string }>();
  const seeds = parseFlag('--seeds', o.seeds, parse.positiveInt);
  const jobs = parseFlag('--jobs', o.jobs, parse.positiveInt);
  const dir = resolve(o.out);
  const configs = which === 'deep' ? DEEP : SHALLOW;
  const queue = configs.flatMap((c) => Array.from({ length: seeds }, (_, i) => ({ c, seed: i + 1 })));
  const results = new Map<string, RunAnalysis[]>();
  const t0 = performance.now();
  const log = (s: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0)}s] ${s}\n`);
  await Promise.all(
    Array.from({ length: jobs }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        const a = await trainAndAnalyze(job.c, job.seed, dir, log);
        results.set(job.c.name, [...(results.get(job.c.name) ?? []), a]);
      }
    }),
  );
  for (const v of results.values()) v.sort((a, b) => a.seed - b.seed);
  const backend = [...new Set([...results.values()].flat().map((a) => a.backend))].join(', ');
  const command = `node dist/experiments/gln.js ${which} --seeds ${seeds}`;
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)}, backend ${backend}, ${cpus().length}-core ${cpus()[0]?.model.trim() ?? 'machine'}, ${seeds} seed${seeds > 1 ? 's' : ''} (runs ${[...Array(seeds).keys()].map((i) => i + 1).join(', ')}; several values: mean (per seed)); ${((performance.now() - t0) / 60000).toFixed(1)} min wall with ${jobs} jobs.`,
    '',
    `    ${command}`,
    '',
    ...table(which, configs, results),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
