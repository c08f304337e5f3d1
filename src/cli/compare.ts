/**
 * `biocredit compare`: every rule × swept option values (`--grid`) × seed as its
 * own run directory, all prepared (config.json written) before any starts, run
 * in parallel worker processes (each a `biocredit train --resume DIR` reporting
 * over IPC) with a live view, then a table, results.csv, results.json and
 * report.html grouped by rule and swept values.
 */
import chalk from 'chalk';
import cliProgress from 'cli-progress';
import { Command } from 'commander';
import type { ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { initBackend } from '../backend.js';
import { atomicWrite } from '../checkpoint.js';
import type { Queue } from 'bullmq';
import {
  collectResults,
  defaultCompareDir,
  displayValue,
  fingerprint,
  groupsOf,
  openCompareDir,
  planRuns,
  readCompareFile,
  resultsCsv,
  resultsJson,
  type ComparisonResults,
  type Group,
  type PlannedRun,
  type Stat,
} from '../compare.js';
import { OPTIMIZER_KEYS, resolveConfig, TRAIN_OPTIONS, type RunConfig, type TrainSpec } from '../config.js';
import { UsageError } from '../errors.js';
import { parse, parseFlag } from '../options.js';
import { rules as ruleRegistry } from '../registries.js';
import { trainingFigures } from '../analysis/report.js';
import { buildRun, loadDataset } from '../run.js';
import type { Dataset } from '../types.js';
import { trialOutputsFigure } from '../trials.js';
import { comparisonReport } from '../report.js';
import { lockDir } from '../lock.js';
import { checkServer, openQueue, parseQueueUrl, redactCommand, type QueueTarget } from '../queue.js';
import { makeDir, prepareRun } from '../trainer.js';
import { addTrainFlags, attributeName, readTrainFlags, type ParsedTrainFlags, type RawFlags } from './flags.js';
import { gridGroups, parseGrid, type GridAxis } from './grid.js';
import { barLine, duration, fitFields, num, pct, table, terminalWidth, type Field } from './format.js';
import { assertBuilt, trainChild } from './child-run.js';
import { compareKey, enqueueRuns, queuedRun, submitSlurm } from './compare-queue.js';
import type { WorkerMessage } from './ipc.js';
import { progressIntervalSec } from './reporter.js';

function parseRules(raw: string): string[] {
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!names.length) throw new UsageError('--rules needs at least one rule, e.g. --rules bp,fa,dfa');
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new UsageError(`--rules lists ${n} twice`);
    seen.add(n);
    ruleRegistry.get(n);
  }
  return names;
}

interface RunView {
  run: PlannedRun;
  label: string;
  status: 'queued' | 'running' | 'finished' | 'failed' | 'interrupted' | 'skipped';
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  testAccuracy: number;
  /** Seconds to the end of the run, as its worker last estimated. */
  etaSec: number;
  /** Regression tasks: the normalized test error. */
  testNmse?: number;
  error?: string;
  /** The queue worker (host:pid) running it, for runs on a queue. */
  worker?: string;
}

/** The test metric of a live view: accuracy, or the normalized error of a regression task. */
const testMetric = (v: RunView) => (v.testNmse !== undefined ? `nmse ${num(v.testNmse)}` : pct(v.testAccuracy));

type LiveEvent = 'start' | 'progress' | 'eval' | 'end';

interface LiveView {
  update(v: RunView, event: LiveEvent): void;
  line(text: string): void;
  stop(): void;
}

function createLiveView(views: RunView[], tty: boolean, quiet: boolean, intervalSec: number): LiveView {
  if (quiet) return { update() {}, line() {}, stop() {} };
  const columns = () => terminalWidth(process.stderr);
  if (!tty) {
    const interval = intervalSec * 1000;
    const lastLine = new Map<string, number>();
    // A line names its run first; the rest fits the width (COLUMNS) when one is set.
    const say = (v: RunView, fields: Field[]) => {
      const lead = `[${v.label}]`;
      const width = columns();
      process.stderr.write(`${lead} ${fitFields(fields, width === undefined ? undefined : width - lead.length - 1)}\n`);
    };
    const epoch = (v: RunView): Field => ({ text: `epoch ${num(v.epoch, 2)}/${num(v.epochs, 2)}`, rank: 1 });
    return {
      update(v, event) {
        if (event === 'start') {
          process.stderr.write(`[${v.label}] ${v.run.state === 'resume' ? 'resuming' : 'started'}${v.worker ? ` on ${v.worker}` : ''}\n`);
          lastLine.set(v.label, Date.now());
        } else if (event === 'progress') {
          // Each running run reports at a steady interval, so a log shows the comparison is alive between evaluations.
          const now = Date.now();
          if (now - (lastLine.get(v.label) ?? 0) < interval) return;
          lastLine.set(v.label, now);
          say(v, [{ text: `step ${v.step}/${v.totalSteps}`, rank: 0 }, epoch(v), { text: `ETA ${duration(v.etaSec)}`, rank: 2 }]);
        } else if (event === 'eval') {
          say(v, [epoch(v), { text: `test ${testMetric(v)}`, rank: 0 }]);
        } else if (event === 'end') {
          process.stderr.write(`[${v.label}] ${v.status}${v.error ? `: ${v.error}` : ''}\n`);
        }
      },
      line: (text) => process.stderr.write(`${text}\n`),
      stop() {},
    };
  }
  const width = Math.max(...views.map((v) => v.label.length));
  const status = (v: RunView) =>
    v.status === 'failed'
      ? chalk.red('failed')
      : v.status === 'finished' || v.status === 'skipped'
        ? chalk.green(v.status)
        : v.status === 'running' && v.worker
          ? `running on ${v.worker}`
          : v.status;
  const multi = new cliProgress.MultiBar(
    {
      stream: process.stderr,
      // The run's label and status come first, then its test metric; a narrow terminal shrinks the bar and drops the epoch.
      format: (options, params, payload: { view: RunView }) => {
        const v = payload.view;
        const fields: Field[] = [
          { text: `epoch ${v.epochs ? `${num(v.epoch, 2)}/${num(v.epochs, 2)}` : '-'}`, rank: 2 },
          { text: `test ${testMetric(v)}`, rank: 1 },
          { text: status(v), rank: 0 },
        ];
        const bar = (size: number) => cliProgress.Format.BarFormat(params.progress, { ...options, barsize: size });
        return barLine((columns() ?? params.maxWidth) - 1, ` ${v.label.padEnd(width)}`, params.progress, fields, bar, { essential: 2, maxBar: 20 });
      },
      barsize: 20,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map(views.map((v) => [v.label, multi.create(1, 0, { view: v })]));
  return {
    update(v) {
      const bar = bars.get(v.label)!;
      bar.setTotal(Math.max(1, v.totalSteps));
      bar.update(v.status === 'finished' || v.status === 'skipped' ? Math.max(1, v.totalSteps) : v.step, { view: v });
    },
    line: (text) => multi.log(`${text}\n`),
    stop: () => multi.stop(),
  };
}

/** Runs one planned run in a worker process; resolves with its exit code. */
async function runWorker(view: RunView, backend: string | undefined, live: LiveView, children: Set<ChildProcess>): Promise<number> {
  view.status = 'running';
  const { exit } = trainChild(view.run.dir, backend, (m: WorkerMessage) => {
    applyMessage(view, m);
    live.update(view, m.type);
  }, children);
  const { code, error } = await exit;
  view.status = code === 0 ? 'finished' : code === 130 ? 'interrupted' : 'failed';
  if (error) view.error = error;
  if (code === 0) view.step = view.totalSteps;
  live.update(view, 'end');
  return code;
}

/** A run's live view after a progress message of its training process. */
function applyMessage(view: RunView, m: WorkerMessage): void {
  if (m.type === 'start') {
    view.totalSteps = m.totalSteps;
    view.epochs = m.totalSteps / m.stepsPerEpoch;
    view.step = m.startStep;
  } else if (m.type === 'progress') {
    view.step = m.step;
    view.epoch = m.epoch;
    view.etaSec = m.etaSec;
  } else {
    view.epoch = m.record.epoch;
    view.testAccuracy = m.record.test.accuracy;
    if (m.record.test.nmse !== undefined) view.testNmse = m.record.test.nmse;
  }
}

function pm(s: Stat, scale: number, digits: number): string {
  return s.n ? `${(s.mean * scale).toFixed(digits)} ± ${(s.std * scale).toFixed(digits)}` : '—';
}

/** mean ± std of a normalized error, in exponent form. */
function pmExp(s: Stat): string {
  return s.n ? `${s.mean.toExponential(2)} ± ${s.std.toExponential(1)}` : '—';
}

/** The leading cells of a group's row: its rule and the swept values (— where one does not apply). */
function leadCells(results: ComparisonResults, r: ComparisonResults['groups'][number]): string[] {
  return [chalk.cyan(r.rule), ...results.grid.map((k) => displayValue(r.values[k]) || '—')];
}

export function resultsTable(results: ComparisonResults): string {
  const head = ['rule', ...results.grid, 'runs'];
  const runs = (r: ComparisonResults['groups'][number]) =>
    `${r.finished}${r.diverged ? chalk.red(` +${r.diverged} diverged`) : ''}${r.failed ? chalk.red(` +${r.failed} failed`) : ''}`;
  if (results.groups.some((r) => r.testNmse.n > 0)) {
    const best = Math.min(...results.groups.map((r) => r.testNmse.mean).filter(Number.isFinite));
    const rows = [[...head, 'test nmse', 'test MAE', 'test loss', 's/epoch', 'hidden angle °']];
    for (const r of results.groups) {
      const e = pmExp(r.testNmse);
      rows.push([...leadCells(results, r), runs(r), r.testNmse.mean === best ? chalk.bold.green(e) : e, pmExp(r.testMae), pmExp(r.testLoss), pm(r.secPerEpoch, 1, 1), pm(r.hiddenAngle, 1, 1)]);
    }
    return table(rows);
  }
  const best = Math.max(...results.groups.map((r) => r.testAccuracy.mean).filter(Number.isFinite));
  const rows = [[...head, 'test acc %', 'test loss', 'best test %', 'train acc %', 's/epoch', 'hidden angle °']];
  for (const r of results.groups) {
    const acc = pm(r.testAccuracy, 100, 2);
    rows.push([
      ...leadCells(results, r),
      runs(r),
      r.testAccuracy.mean === best ? chalk.bold.green(acc) : acc,
      pm(r.testLoss, 1, 4),
      pm(r.bestTestAccuracy, 100, 2),
      pm(r.trainAccuracy, 100, 2),
      pm(r.secPerEpoch, 1, 1),
      pm(r.hiddenAngle, 1, 1),
    ]);
  }
  return table(rows);
}

/** The spec of one group: the command's settings with the group's swept values, without optimizer settings for a rule that has none. */
function groupSpec(parsed: ParsedTrainFlags, group: Group, axes: GridAxis[], ruleNames: string[]): TrainSpec {
  const spec: TrainSpec = { ...parsed.spec, datasetOptions: { ...parsed.spec.datasetOptions }, modelOptions: { ...parsed.spec.modelOptions } };
  const ruleOptions = parsed.ruleOptions(group.rule);
  const own = ruleRegistry.get(group.rule).output;
  // Optimizer flags given for the other rules of the comparison do not apply to a rule with no optimizer.
  if (own === 'update' && ruleNames.some((r) => ruleRegistry.get(r).output === 'gradient')) for (const k of OPTIMIZER_KEYS) delete spec[k];
  for (const axis of axes) {
    const v = group.values[axis.name];
    if (v === undefined) continue;
    if (axis.kind === 'train') (spec as Record<string, unknown>)[axis.key] = v;
    else if (axis.kind === 'rule') ruleOptions[axis.key] = v;
    else (axis.kind === 'model' ? spec.modelOptions! : spec.datasetOptions!)[axis.key] = v;
  }
  return { ...spec, rule: group.rule, ruleOptions };
}

type Runner = (views: RunView[], live: LiveView, stopped: () => boolean, children: Set<ChildProcess>) => Promise<void>;

/** Runs the open runs in `jobs` local worker processes at a time. */
async function runLocally(views: RunView[], live: LiveView, stopped: () => boolean, children: Set<ChildProcess>, jobs: number, backend: string | undefined): Promise<void> {
  const queue = views.filter((v) => v.status === 'queued');
  await Promise.all(
    Array.from({ length: Math.min(jobs, queue.length) }, async () => {
      // A worker runs the prepared run directory: its config.json holds every setting.
      for (let v = queue.shift(); v && !stopped(); v = queue.shift()) await runWorker(v, backend, live, children);
    }),
  );
}

/** Follows the runs' jobs on the queue, once a second, until every one has ended or `stopped()`. */
async function followQueue(queue: Queue, key: string, views: RunView[], live: LiveView, stopped: () => boolean): Promise<void> {
  for (;;) {
    const open = views.filter((v) => v.status === 'queued' || v.status === 'running');
    if (!open.length || stopped()) return;
    for (const v of open) {
      const q = await queuedRun(queue, key, v.run);
      const before = { status: v.status, worker: v.worker, accuracy: v.testAccuracy, nmse: v.testNmse };
      const p = q.progress;
      if (p && p.totalSteps > 0) {
        Object.assign(v, { worker: p.worker, totalSteps: p.totalSteps, step: p.step, epoch: p.epoch, epochs: p.totalSteps / p.stepsPerEpoch });
        if (p.etaSec !== undefined) v.etaSec = p.etaSec;
        if (p.testAccuracy !== undefined) v.testAccuracy = p.testAccuracy;
        if (p.testNmse !== undefined) v.testNmse = p.testNmse;
      }
      v.status = q.state === 'missing' ? 'failed' : q.state;
      if (q.error) v.error = q.error;
      if (v.status === 'finished') v.step = v.totalSteps;
      const ended = v.status === 'finished' || v.status === 'failed';
      const started = v.status === 'running' && (before.status !== 'running' || before.worker !== v.worker);
      const evaluated = !Object.is(v.testAccuracy, before.accuracy) || !Object.is(v.testNmse, before.nmse);
      if (ended || v.status === 'running') live.update(v, ended ? 'end' : started ? 'start' : evaluated ? 'eval' : 'progress');
    }
    for (let t = 0; t < 10 && !stopped(); t++) await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Shows the runs of a comparison while `run` drives them, then writes the table,
 * results.csv, results.json and report.html. Ctrl-C stops local runs at a
 * checkpoint; on a queue it only stops following (the workers go on).
 */
async function drive(dir: string, plan: PlannedRun[], raw: RawFlags, run: Runner, target?: QueueTarget): Promise<void> {
  const quiet = Boolean(raw['quiet']);
  const views: RunView[] = plan.map((p) => ({
    run: p,
    label: `${p.group}-s${p.seed}`,
    status: p.state === 'finished' ? 'skipped' : p.state === 'failed' ? 'failed' : 'queued',
    epoch: 0,
    epochs: 0,
    step: 0,
    totalSteps: 1,
    testAccuracy: NaN,
    etaSec: NaN,
  }));
  const live = createLiveView(views, Boolean(process.stderr.isTTY), quiet, progressIntervalSec());
  if (process.stderr.isTTY) views.forEach((v) => live.update(v, 'progress'));
  const children = new Set<ChildProcess>();
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) {
      for (const c of children) c.kill('SIGKILL');
      process.exit(130);
    }
    interrupted = true;
    if (target) live.line('stopped following; the runs go on on the workers');
    else live.line('stopping: running jobs save a checkpoint and stop (Ctrl-C again to kill them)');
    for (const c of children) c.send({ type: 'stop' });
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  const started = performance.now();
  try {
    await run(views, live, () => interrupted, children);
  } finally {
    live.stop();
    process.removeListener('SIGINT', onSignal).removeListener('SIGTERM', onSignal);
  }
  if (interrupted && target) {
    process.stderr.write(`follow them again with: biocredit compare --attach ${dir} --queue ${target.url}\n`);
    process.exitCode = 130;
    return;
  }
  const wall = (performance.now() - started) / 1000;
  const results = collectResults(dir);
  const json = `${JSON.stringify({ ...resultsJson(results), wallSec: wall }, null, 2)}\n`;
  atomicWrite(join(dir, 'results.csv'), resultsCsv(results));
  atomicWrite(join(dir, 'results.json'), json);
  const labels = results.groups.map((r) => r.group);
  const trials = await trialOutputsFigure(results.runs.filter((r) => r.status === 'finished' || r.status === 'diverged'), labels);
  const extra = [...(trials ? [trials] : []), ...trainingFigures(results.runs, labels)];
  atomicWrite(join(dir, 'report.html'), await comparisonReport(results, extra));
  if (raw['json']) {
    process.stdout.write(json);
  } else {
    process.stdout.write(`${resultsTable(results)}\n`);
    process.stdout.write(`${plan.length} runs, ${duration(wall)} wall; results.csv, results.json, report.html in ${dir}\n`);
  }
  for (const v of views.filter((x) => x.status === 'failed' && x.error)) process.stderr.write(`${chalk.red('failed')} ${v.label}: ${v.error}\n`);
  for (const r of results.runs.filter((x) => x.status === 'diverged')) process.stderr.write(`${chalk.red('diverged')} ${r.group}-s${r.seed}: left out of the statistics (its summary.json says why)\n`);
  if (interrupted || views.some((v) => v.status === 'interrupted')) {
    process.stderr.write('interrupted; run the same command again to resume the unfinished runs\n');
    process.exitCode = 130;
  } else if (views.some((v) => v.status === 'failed')) {
    process.exitCode = 1;
  }
}

/** `--attach DIR`: follows a queued comparison made earlier (by this or another machine) to its end. */
async function attach(dir: string, target: QueueTarget, raw: RawFlags): Promise<void> {
  const file = readCompareFile(dir);
  // The report's figures are drawn with tfjs.
  await initBackend();
  const lock = lockDir(dir);
  try {
    const plan = planRuns(dir, groupsOf(file), file.fingerprint.seeds);
    const queue = await openQueue(target);
    try {
      const key = compareKey(JSON.stringify(file.fingerprint), dir);
      if (!raw['quiet']) process.stderr.write(`${chalk.bold('biocredit compare')} following ${plan.length} runs on ${target.display}\ndir ${dir}\n`);
      await drive(dir, plan, raw, (views, live, stopped) => followQueue(queue, key, views, live, stopped), target);
    } finally {
      await queue.close();
    }
  } finally {
    lock.release();
  }
}

export function compareCommand(): Command {
  const cmd = new Command('compare')
    .description('train several rules × swept option values (--grid) × seeds with otherwise identical settings in parallel, then tabulate and plot them')
    .addHelpText(
      'after',
      `
Examples:
  $ biocredit compare --rules bp,fa,dfa,usf,frsf,brsf --dataset mnist --model mlp --hidden 256,256 --epochs 3 --seeds 2
  $ biocredit compare --rules bp,fa,dfa --model convnet --epochs 2 --jobs 2 --out runs/lenet
  $ biocredit compare --rules bp,fa --grid lr=1e-3,3e-3 --grid hidden=128,256 --dataset mnist-mini --epochs 1

--grid sweeps any training, dataset, model or rule option (repeatable: the cross
product × rules × seeds; list values in brackets, --grid hidden=[256,256],[512]).
Each run is a run directory <out>/<rule>[-<option>=<value>…]-s<seed>, and every
run's config.json is written before any run starts (biocredit train --resume DIR
runs one anywhere). Re-running the same command skips finished runs and resumes
unfinished ones (a run that failed, e.g. on a non-finite loss, is kept as failed:
delete its directory to retry it); a different command pointed at the same
directory is refused.`,
    );
  const flags = addTrainFlags(cmd, new Set(['rule', 'seed']), (c) => {
    c.option('--rules <list>', 'comma-separated rules to compare (see `biocredit list`); required but with --attach');
    c.option('--seeds <k>', 'seeds per rule and swept values: seeds 0 … k−1; the tables show mean ± std over them (sample std, n − 1)', '1');
    c.option('--grid <name=values>', 'sweep an option over comma-separated values, e.g. lr=1e-3,3e-3 (repeatable)', (v: string, prev: string[] = []) => [...prev, v]);
    c.option('--jobs <j>', `parallel worker processes (default: the core count, ${availableParallelism()})`);
    c.option('--out <dir>', 'compare directory (default: runs/compare-<model>-<dataset>-<hash of the settings>)');
    c.option('--json', 'print the results as JSON on stdout');
    c.option('--quiet', 'no progress output');
    c.option('--queue <url>', 'run on `biocredit worker` processes through a Redis queue: redis://[:PASSWORD@]HOST:PORT[/DB] (see README, "Running a sweep on many machines")');
    c.option('--detach', 'with --queue: queue the runs and return at once');
    c.option('--attach <dir>', 'with --queue: follow the queued runs of compare directory <dir> to the end and write its results');
    c.option('--slurm <sbatch options>', 'with --queue: submit workers as a Slurm job array, e.g. --slurm "--partition=cpu --time=04:00:00"');
    c.option('--slurm-workers <n>', 'with --slurm: workers in the array (default: one per queued run, at most 32)');
  });
  cmd.action(async (raw: RawFlags) => {
    const target = raw['queue'] === undefined ? null : parseQueueUrl(String(raw['queue']));
    for (const [key, flag] of [['detach', '--detach'], ['attach', '--attach'], ['slurm', '--slurm'], ['slurmWorkers', '--slurm-workers']] as const) {
      if (raw[key] !== undefined && !target) throw new UsageError(`${flag} needs --queue URL`);
    }
    if (raw['detach'] && raw['attach'] !== undefined) throw new UsageError('--detach and --attach exclude each other');
    if (raw['slurmWorkers'] !== undefined && raw['slurm'] === undefined) throw new UsageError('--slurm-workers needs --slurm');
    const slurmWorkers = raw['slurmWorkers'] === undefined ? undefined : parseFlag('--slurm-workers', String(raw['slurmWorkers']), parse.positiveInt);
    assertBuilt();
    // An unreachable server or a wrong password fails before anything is prepared.
    if (target) await checkServer(target);
    if (raw['attach'] !== undefined) return attach(resolve(String(raw['attach'])), target!, raw);
    if (raw['rules'] === undefined) throw new UsageError('--rules is required, e.g. --rules bp,fa,dfa (or --attach DIR --queue URL to follow a queued comparison)');
    const ruleNames = parseRules(String(raw['rules']));
    const k = parseFlag('--seeds', String(raw['seeds']), parse.positiveInt);
    const jobs = raw['jobs'] === undefined ? availableParallelism() : parseFlag('--jobs', String(raw['jobs']), parse.positiveInt);
    const parsed = readTrainFlags(cmd, raw, flags, ruleNames);
    const axes = parseGrid((raw['grid'] as string[] | undefined) ?? [], flags, {
      dataset: String(parsed.spec.task ?? parsed.spec.dataset ?? TRAIN_OPTIONS.dataset.default),
      model: String(parsed.spec.model ?? TRAIN_OPTIONS.model.default),
      rules: ruleNames,
    }, (flag) => cmd.getOptionValueSource(attributeName(flag)) === 'cli');
    const groups = gridGroups(ruleNames, axes);
    const backend = await initBackend(parsed.backend);
    const configs: Record<string, RunConfig> = {};
    for (const g of groups) configs[g.label] = resolveConfig(groupSpec(parsed, g, axes, ruleNames), backend);
    // Build every group's model and rule here (the data loaded once per dataset setting), so a bad
    // --data-dir or --arch, a rule that cannot train the model, or a swept value a model refuses
    // fails before any run starts.
    const loaded = new Map<string, Dataset>();
    for (const g of groups) {
      const config = configs[g.label]!;
      const key = JSON.stringify(config.dataset);
      if (!loaded.has(key)) loaded.set(key, await loadDataset(config));
      await buildRun(config, loaded.get(key));
    }
    const seeds = Array.from({ length: k }, (_, i) => i);
    const fp = fingerprint(ruleNames, seeds, configs, axes.length ? Object.fromEntries(axes.map((a) => [a.name, a.values])) : undefined);
    // The command as given, without the password of a queue URL.
    const command = `biocredit compare ${redactCommand(process.argv.slice(3)).join(' ')}`;
    // The compare directory is locked while this process drives it; each run directory by its worker.
    const dir = resolve(String(raw['out'] ?? defaultCompareDir(fp)));
    const created = !existsSync(dir);
    makeDir(dir, '--out');
    const lock = lockDir(dir);
    try {
      openCompareDir(dir, fp, command, groups);
    } catch (e) {
      lock.release();
      if (created) rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    try {
      const plan = planRuns(dir, groups, seeds);
      // Every run's config.json is written before any run starts: a run directory is all a worker needs.
      for (const run of plan.filter((p) => p.state === 'new')) prepareRun({ ...configs[run.group]!, seed: run.seed }, run.dir);
      const counts = (s: PlannedRun['state']) => plan.filter((p) => p.state === s).length;
      if (!raw['quiet']) {
        const swept = axes.length ? ` × ${axes.map((a) => `${a.name} (${a.values.length})`).join(' × ')}` : '';
        process.stderr.write(
          `${chalk.bold('biocredit compare')} ${ruleNames.join(', ')}${swept} × ${k} seed${k > 1 ? 's' : ''} = ${plan.length} runs ` +
            `(${counts('finished')} finished, ${counts('failed')} failed before, ${counts('resume')} to resume, ${counts('new') + counts('prepared')} new), ` +
            `${target ? `queue ${target.display}` : `${jobs} job${jobs > 1 ? 's' : ''}`}, backend ${chalk.yellow(backend)}\ndir ${dir}\n`,
        );
      }
      if (!target) return await drive(dir, plan, raw, (views, live, stopped, children) => runLocally(views, live, stopped, children, jobs, parsed.backend));
      const queue = await openQueue(target);
      try {
        const key = compareKey(JSON.stringify(readCompareFile(dir).fingerprint), dir);
        const { added, existing } = await enqueueRuns(queue, plan, key, parsed.backend);
        const open = plan.filter((p) => p.state !== 'finished' && p.state !== 'failed').length;
        if (!raw['quiet']) process.stderr.write(`${added} run${added === 1 ? '' : 's'} queued, ${existing} already on the queue\n`);
        if (raw['slurm'] !== undefined && open > 0) {
          const workers = slurmWorkers ?? Math.min(open, 32);
          const id = submitSlurm(dir, target, String(raw['slurm']), workers);
          process.stderr.write(`submitted Slurm job ${id}: ${workers} worker${workers === 1 ? '' : 's'} (logs in ${join(dir, 'slurm')})\n`);
        }
        if (raw['detach']) {
          process.stdout.write(`${open} runs on the queue; follow them with: biocredit compare --attach ${dir} --queue ${target.url}\n`);
          return;
        }
        await drive(dir, plan, raw, (views, live, stopped) => followQueue(queue, key, views, live, stopped), target);
      } finally {
        await queue.close();
      }
    } finally {
      lock.release();
    }
  });
  return cmd;
}
