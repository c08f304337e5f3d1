/**
 * `biocredit analyze RUN_DIR|COMPARE_DIR`: curvature, generalization gap,
 * sharpness and geometry of trained networks, from their last checkpoints.
 * Writes analysis.json into every run directory (reused when the options and
 * the checkpoint are unchanged) and, for a compare directory, analysis.json and
 * analysis.html beside compare.json.
 */
import { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ANALYSIS_FILE, DEFAULT_ANALYZE, analyzeRun, cachedAnalysis, parseHessianSpec, saveAnalysis, type AnalyzeOptions, type RunAnalysis } from '../analysis/analyze.js';
import { aggregate, analysisPage, analysisRows, implicitBiasText } from '../analysis/report.js';
import { initBackend, parseBackendChoice } from '../backend.js';
import { atomicWrite, atomicWriteJson } from '../checkpoint.js';
import { COMPARE_FILE, readCompareFile, runDirName } from '../compare.js';
import { RunDirError, UsageError } from '../errors.js';
import { parse, parseFlag } from '../options.js';
import { duration, table } from './format.js';

type Raw = Record<string, string | boolean | undefined>;

function options(raw: Raw): AnalyzeOptions {
  const d = DEFAULT_ANALYZE;
  const num = (flag: string, key: string, parser: (s: string) => number, def: number) =>
    raw[key] === undefined ? def : parseFlag(flag, String(raw[key]), parser);
  const anySelected = raw['hessian'] !== undefined || raw['sharpness'] !== undefined || raw['geometry'] !== undefined || raw['dynamics'] !== undefined || raw['implicitBias'] !== undefined;
  const choice = <C extends string>(flag: string, key: string, choices: readonly C[], def: C): C =>
    raw[key] === undefined ? def : parseFlag(flag, String(raw[key]), parse.choice(choices));
  const params = raw['params'] === undefined ? undefined : parseFlag('--params', String(raw['params']), parse.string);
  return {
    hessian: raw['hessian'] !== undefined ? parseHessianSpec(String(raw['hessian'])) : anySelected ? null : d.hessian,
    gap: !raw['noGap'],
    sharpness: Boolean(raw['sharpness']),
    geometry: Boolean(raw['geometry']),
    dynamics: Boolean(raw['dynamics']),
    implicitBias: Boolean(raw['implicitBias']),
    lyapunovSteps: num('--lyapunov-steps', 'lyapunovSteps', parse.positiveInt, d.lyapunovSteps),
    points: num('--points', 'points', parse.positiveInt, d.points),
    split: choice('--split', 'split', ['train', 'test'] as const, 'train'),
    ...(params !== undefined ? { params } : {}),
    method: choice('--method', 'method', ['lanczos', 'power'] as const, d.method),
    tol: num('--tol', 'tol', parse.positiveNumber, d.tol),
    maxIter: num('--max-iter', 'maxIter', parse.positiveInt, d.maxIter),
    traceMethod: choice('--trace-method', 'traceMethod', ['hutch++', 'hutchinson'] as const, d.traceMethod),
    probes: num('--probes', 'probes', parse.positiveInt, d.probes),
    densitySteps: num('--density-steps', 'densitySteps', parse.positiveInt, d.densitySteps),
    densityRuns: num('--density-runs', 'densityRuns', parse.positiveInt, d.densityRuns),
    rho: num('--rho', 'rho', parse.positiveNumber, d.rho),
    epsilon: num('--epsilon', 'epsilon', parse.positiveNumber, d.epsilon),
    epsilonSteps: num('--epsilon-steps', 'epsilonSteps', parse.positiveInt, d.epsilonSteps),
    kernelPoints: num('--kernel-points', 'kernelPoints', parse.positiveInt, d.kernelPoints),
    hvp: choice('--hvp', 'hvp', ['exact', 'fd'] as const, d.hvp),
    hvpStep: num('--hvp-step', 'hvpStep', parse.positiveNumber, d.hvpStep),
    seed: num('--seed', 'seed', parse.nonNegativeInt, d.seed),
  };
}

interface Target {
  kind: 'run' | 'compare';
  dir: string;
  runs: { rule: string; seed: number; dir: string }[];
  rules: string[];
  command?: string;
}

function target(dirArg: string): Target {
  const dir = resolve(dirArg);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new RunDirError(dir, 'directory not found');
  if (existsSync(join(dir, COMPARE_FILE))) {
    const file = readCompareFile(dir);
    const runs = file.fingerprint.rules.flatMap((rule) =>
      file.fingerprint.seeds.map((seed) => ({ rule, seed, dir: join(dir, runDirName(rule, seed)) })),
    );
    return { kind: 'compare', dir, runs, rules: file.fingerprint.rules, command: file.command };
  }
  if (existsSync(join(dir, 'config.json'))) return { kind: 'run', dir, runs: [{ rule: '', seed: 0, dir }], rules: [] };
  throw new RunDirError(dir, `not a run directory (no config.json) nor a compare directory (no ${COMPARE_FILE})`);
}

export function analyzeCommand(): Command {
  const cmd = new Command('analyze')
    .description('Hessian spectrum, generalization gap, sharpness and geometry of trained networks (a run or a compare directory)')
    .argument('<dir>', 'a run directory (from train) or a compare directory (from compare)')
    .option('--hessian <measures>', 'comma list of top-k=K, trace, density (default: top-k=1,trace unless --sharpness/--geometry/--dynamics/--implicit-bias alone)')
    .option('--sharpness', 'ε-sharpness (Keskar et al.) and SAM-style sharpness')
    .option('--geometry', 'weight change from init, effective ranks, participation ratios, tangent-kernel alignment')
    .option('--dynamics', 'recurrent networks: eigenvalues of J, largest Lyapunov exponent of the autonomous network, participation ratio of the activity')
    .option('--implicit-bias', 'gated linear networks (two classes): max-margin predictors the theory says gradient descent approaches (SVM per context; group norm for one hidden layer; plain L2), their test errors and inconsistency with the trained network')
    .option('--lyapunov-steps <n>', 'steps averaged for the Lyapunov exponent (after n/4 transient steps)', String(DEFAULT_ANALYZE.lyapunovSteps))
    .option('--no-gap', 'skip the generalization gap (full train and test evaluation)')
    .option('--points <n>', 'the Hessian and sharpness are over the first n examples of --split, in file order', String(DEFAULT_ANALYZE.points))
    .option('--split <split>', 'train or test', 'train')
    .option('--params <globs>', 'restrict to parameters matching comma-separated globs, e.g. "l1/W" or "*/W" (default: all trainable)')
    .option('--method <name>', 'top eigenvalues by lanczos (full re-orthogonalisation) or power (iteration with deflation)', DEFAULT_ANALYZE.method)
    .option('--tol <t>', 'relative tolerance of the eigenvalue iterations', String(DEFAULT_ANALYZE.tol))
    .option('--max-iter <n>', 'most Lanczos steps, or power iterations per eigenvalue', String(DEFAULT_ANALYZE.maxIter))
    .option('--trace-method <name>', 'hutch++ or hutchinson (Rademacher probes)', DEFAULT_ANALYZE.traceMethod)
    .option('--probes <n>', 'Hessian-vector products spent on the trace', String(DEFAULT_ANALYZE.probes))
    .option('--density-steps <n>', 'Lanczos steps per stochastic-Lanczos-quadrature run', String(DEFAULT_ANALYZE.densitySteps))
    .option('--density-runs <n>', 'random start vectors averaged for the density', String(DEFAULT_ANALYZE.densityRuns))
    .option('--rho <r>', 'SAM radius', String(DEFAULT_ANALYZE.rho))
    .option('--epsilon <e>', 'ε of ε-sharpness (box |z_i| ≤ ε(|θ_i|+1))', String(DEFAULT_ANALYZE.epsilon))
    .option('--epsilon-steps <n>', 'projected ascent steps for ε-sharpness', String(DEFAULT_ANALYZE.epsilonSteps))
    .option('--kernel-points <n>', 'examples for the tangent-kernel alignment', String(DEFAULT_ANALYZE.kernelPoints))
    .option('--hvp <method>', 'Hessian-vector products: exact (double backprop) or fd (central differences of gradients; smooth networks only)', DEFAULT_ANALYZE.hvp)
    .option('--hvp-step <h>', 'finite-difference step, relative to 1 + ‖θ‖ (for --hvp fd and the step check)', String(DEFAULT_ANALYZE.hvpStep))
    .option('--seed <n>', 'seed of the random probe and start vectors', '0')
    .option('--backend <name>', 'tensorflow | wasm | cpu (default: best available)')
    .option('--force', 'recompute even where a run holds an analysis.json with the same options')
    .option('--json', 'print the results as JSON on stdout')
    .option('--quiet', 'no progress output')
    .addHelpText(
      'after',
      `
Examples:
  $ biocredit analyze runs/20261122-120000-bp-mlp-mnist
  $ biocredit analyze runs/compare-mlp-mnist-1a2b3c4d --hessian top-k=3,trace,density
  $ biocredit analyze RUN --hessian top-k=1 --params l1/W --points 10000 --sharpness --geometry
  $ biocredit analyze RNN_RUN --hessian top-k=1 --params rnn/J --dynamics
  $ biocredit analyze GLN_RUN --implicit-bias --no-gap

Hessian-vector products are exact (double backprop with second-order-safe gradients; see docs/architecture.md, "Curvature").`,
    )
    .action(async (dirArg: string, raw: Raw) => {
      const t0 = performance.now();
      // Commander stores --no-gap as gap=false.
      const opts = options({ ...raw, noGap: raw['gap'] === false ? true : undefined });
      const tgt = target(dirArg);
      const backend = await initBackend(raw['backend'] !== undefined ? parseBackendChoice(String(raw['backend']), '--backend') : undefined);
      const say = (s: string) => !raw['quiet'] && process.stderr.write(`${s}\n`);
      say(`biocredit analyze ${tgt.kind === 'compare' ? `${tgt.runs.length} runs of ${tgt.dir}` : tgt.dir}, backend ${backend}`);
      const analyses: RunAnalysis[] = [];
      const skipped: string[] = [];
      for (const run of tgt.runs) {
        const label = tgt.kind === 'compare' ? `${run.rule}-s${run.seed}` : 'run';
        if (tgt.kind === 'compare' && !existsSync(join(run.dir, 'config.json'))) {
          skipped.push(`${label} (not started)`);
          continue;
        }
        const cached = raw['force'] ? null : cachedAnalysis(run.dir, opts);
        if (cached) {
          say(`[${label}] reusing ${ANALYSIS_FILE}`);
          analyses.push(cached);
          continue;
        }
        const started = performance.now();
        try {
          const a = await analyzeRun(run.dir, opts, (phase) => say(`[${label}] ${phase} (${duration((performance.now() - started) / 1000)})`));
          saveAnalysis(a);
          analyses.push(a);
          say(`[${label}] done in ${duration(a.wallSec)}`);
        } catch (e) {
          // A broken run of a comparison is reported and skipped; the others still count.
          if (tgt.kind === 'compare' && e instanceof RunDirError) {
            skipped.push(`${label} (${e.message})`);
            continue;
          }
          throw e;
        }
      }
      if (!analyses.length) throw new UsageError(`nothing to analyse in ${tgt.dir}: ${skipped.join('; ')}`);
      const rules = tgt.kind === 'compare' ? tgt.rules : [analyses[0]!.rule];
      const perRule = aggregate(analyses, rules);
      const wallSec = (performance.now() - t0) / 1000;
      const summary = {
        dir: tgt.dir,
        kind: tgt.kind,
        ...(tgt.command ? { command: tgt.command } : {}),
        options: opts,
        backend,
        rules: Object.fromEntries(perRule.map((r) => [r.rule, { runs: r.runs, ...r.stats }])),
        runs: analyses.map((a) => ({ ...a, hessian: a.hessian ? { ...a.hessian, density: undefined } : undefined })),
        skipped,
        wallSec,
      };
      const title = tgt.kind === 'compare' ? `biocredit analysis: ${tgt.command ?? tgt.dir}` : `biocredit analysis: ${analyses[0]!.rule} / ${analyses[0]!.model} / ${analyses[0]!.dataset}`;
      if (tgt.kind === 'compare') atomicWriteJson(join(tgt.dir, ANALYSIS_FILE), summary);
      const page = join(tgt.dir, 'analysis.html');
      atomicWrite(page, await analysisPage(title, analyses, rules));
      if (raw['json']) {
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      } else {
        process.stdout.write(`${table(analysisRows(perRule))}\n`);
        if (skipped.length) process.stdout.write(`skipped: ${skipped.join('; ')}\n`);
        const first = analyses[0]!;
        if (first.hessian) {
          const h = first.hessian;
          process.stdout.write(
            `Hessian over the first ${h.points} ${h.split} examples, ${h.dim.toLocaleString('en-US')} parameters (${opts.params ? h.params.join(', ') : 'all trainable'}); ${h.hvps} HVPs per run${
              h.hvpCheck !== undefined ? `, HVP ${first.options.hvp === 'exact' ? 'symmetry error' : 'step-doubling change'} ${h.hvpCheck.toExponential(1)}` : ''
            }\n`,
          );
        }
        for (const a of analyses) if (a.implicitBias) process.stdout.write(implicitBiasText(a, tgt.kind === 'compare'));
        process.stdout.write(`${analyses.length} run${analyses.length > 1 ? 's' : ''}, ${duration(wallSec)} wall; ${tgt.kind === 'compare' ? `${ANALYSIS_FILE}, ` : ''}analysis.html in ${tgt.dir}\n`);
      }
    });
  return cmd;
}
