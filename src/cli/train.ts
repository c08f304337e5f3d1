/** `biocredit train`: one run from flags, or `--resume RUN_DIR`. */
import chalk from 'chalk';
import { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBackendChoice } from '../backend.js';
import { TRAIN_OPTIONS } from '../config.js';
import { UsageError } from '../errors.js';
import { flagName, parse, parseFlag } from '../options.js';
import { writeRunReport } from '../run-report.js';
import { resume, train, type Reporter, type RunSummary } from '../trainer.js';
import { addTrainFlags, attributeName, readTrainFlags, type RawFlags } from './flags.js';
import { duration, int, num, pct, table } from './format.js';
import { createIpcReporter, ipcAvailable } from './ipc.js';
import { createCliReporter } from './reporter.js';

/** Trainer flags that may be given with --resume. */
const RESUME_FLAGS = new Set(['epochs', 'steps']);

export function trainCommand(): Command {
  const cmd = new Command('train')
    .description('train one network with one learning rule; writes a run directory (config, metrics, checkpoints, summary)')
    .addHelpText(
      'after',
      `
Examples:
  $ biocredit train --dataset mnist --model mlp --hidden 256,256 --rule bp --epochs 3
  $ biocredit train --dataset mnist-mini --epochs 1 --json
  $ biocredit train --model convnet --rule fa --epochs 2
  $ biocredit train --resume RUN_DIR

A run killed or interrupted (Ctrl-C) continues from its last checkpoint with --resume
(RUN_DIR: the run directory train printed, runs/<timestamp>-<rule>-<model>-<dataset> by default).
\`biocredit train --rule X --help\` lists the options of rule X (likewise --model, --dataset, --task).`,
    );
  const flags = addTrainFlags(cmd, new Set(), (c) => {
    c.option('--out <dir>', 'run directory (default: runs/<timestamp>-<rule>-<model>-<dataset>)');
    c.option('--resume <dir>', 'continue the run in <dir> from its last checkpoint (--epochs/--steps may extend it), or start a prepared run (a directory holding only its config.json)');
    c.option('--json', 'print one machine-readable JSON summary on stdout');
    c.option('--quiet', 'no progress output');
  });
  cmd.action(async (raw: RawFlags) => {
    const fromCli = (attr: string) => cmd.getOptionValueSource(attr) === 'cli';
    const terminal = ipcAvailable() ? null : createCliReporter({ quiet: Boolean(raw['quiet']), tty: Boolean(process.stderr.isTTY) });
    // The run directory, once the run has one: a run of this command (not a compare worker) gets its report.html there.
    let runDir: string | null = null;
    const reporter: Reporter = terminal
      ? {
          ...terminal,
          start: (info) => {
            runDir = info.runDir;
            terminal.start?.(info);
          },
        }
      : createIpcReporter();
    const report = async () => {
      if (!terminal || !runDir) return;
      try {
        await writeRunReport(runDir, ['biocredit', ...process.argv.slice(2)].join(' '));
      } catch (e) {
        process.stderr.write(`biocredit: warning: could not write ${join(runDir, 'report.html')}: ${(e as Error).message}\n`);
      }
    };
    const controller = new AbortController();
    const onSignal = () => {
      if (controller.signal.aborted) process.exit(130);
      terminal?.stop();
      process.stderr.write('\nstopping at the next step and saving a checkpoint (press Ctrl-C again to quit at once)\n');
      controller.abort();
    };
    // A worker of `compare` stops when its parent asks or goes away; the terminal's
    // Ctrl-C reaches the parent, which tells every worker once.
    const stop = () => controller.abort();
    const onMessage = (m: { type?: string }) => m.type === 'stop' && stop();
    const ignore = () => {};
    let summary: RunSummary;
    if (terminal) process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
    else process.on('SIGINT', ignore).on('SIGTERM', stop).on('message', onMessage).on('disconnect', stop);
    try {
      if (raw['resume'] !== undefined) {
        const fixed = [
          ...Object.entries(TRAIN_OPTIONS)
            .filter(([key]) => !RESUME_FLAGS.has(key))
            .map(([, o]) => o.flag),
          ...[...flags.values()].map((f) => f.flag),
          '--out',
        ];
        for (const flag of fixed) {
          if (fromCli(attributeName(flag))) throw new UsageError(`${flagName(flag)} cannot be given with --resume: the run's config.json fixes it`);
        }
        const dir = String(raw['resume']);
        const done = raw['epochs'] === undefined && raw['steps'] === undefined ? finishedSummary(dir) : null;
        if (done) {
          process.stderr.write(`${dir} is finished (${done.steps} of ${done.totalSteps} steps); nothing to resume. --steps or --epochs beyond its end extend it\n`);
          if (raw['json']) process.stdout.write(`${JSON.stringify(done, null, 2)}\n`);
          else if ('metric' in done.best) process.stdout.write(`${summaryText(done)}\n`);
          return;
        }
        summary = await resume(dir, {
          ...(raw['epochs'] !== undefined ? { epochs: parseFlag('--epochs', String(raw['epochs']), parse.positiveInt) } : {}),
          ...(raw['steps'] !== undefined ? { steps: parseFlag('--steps', String(raw['steps']), parse.positiveInt) } : {}),
          ...(raw['backend'] !== undefined ? { backend: parseBackendChoice(String(raw['backend']), '--backend') } : {}),
          reporter,
          signal: controller.signal,
        });
      } else {
        const rule = String(raw['rule'] ?? TRAIN_OPTIONS.rule.default);
        const parsed = readTrainFlags(cmd, raw, flags, [rule]);
        summary = await train(
          { ...parsed.spec, rule, ruleOptions: parsed.ruleOptions(rule), ...(raw['seed'] !== undefined ? { seed: parseFlag(TRAIN_OPTIONS.seed.flag, String(raw['seed']), parse.nonNegativeInt) } : {}) },
          { ...(raw['out'] !== undefined ? { out: String(raw['out']) } : {}), reporter, signal: controller.signal },
        );
      }
    } catch (e) {
      terminal?.stop();
      // A failed run keeps its curves up to the failure.
      await report();
      throw e;
    } finally {
      terminal?.stop();
      process.removeListener('SIGINT', onSignal).removeListener('SIGTERM', onSignal);
      process.removeListener('SIGINT', ignore).removeListener('SIGTERM', stop).removeListener('message', onMessage).removeListener('disconnect', stop);
      if (!terminal) process.disconnect?.();
    }
    await report();
    if (raw['json']) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else if (terminal) process.stdout.write(`${summaryText(summary)}\n`);
    if (summary.status === 'interrupted') {
      if (terminal) process.stderr.write(`interrupted at step ${summary.steps}/${summary.totalSteps}; continue with: biocredit train --resume ${summary.runDir}\n`);
      process.exitCode = 130;
    }
    // A diverged run ran to the end and is kept; it says so even under --quiet.
    if (summary.warning) process.stderr.write(`biocredit: warning: ${summary.warning}\n`);
  });
  return cmd;
}

/** The summary of a run that ran to its end (finished or diverged), if `dir` holds one. */
function finishedSummary(dir: string): RunSummary | null {
  try {
    const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
    return (s.status === 'finished' || s.status === 'diverged') && s.steps >= s.totalSteps ? s : null;
  } catch {
    return null;
  }
}

export function summaryText(s: RunSummary): string {
  const rows = [['split', 'loss', 'accuracy', 'examples']];
  for (const split of ['train', 'val', 'test'] as const) {
    const r = s.final[split];
    if (r) rows.push([split, num(r.loss), pct(r.accuracy), int(r.n)]);
  }
  const head = `${s.status === 'diverged' ? chalk.bold.red('diverged') : chalk.bold(s.status)} ${s.rule} / ${s.model} / ${s.dataset} (seed ${s.seed}, ${s.backend}): ${s.steps}/${s.totalSteps} steps, ${num(s.epochs, 2)} epochs`;
  const timing = `time ${duration(s.wallSec)} total, ${duration(s.secPerEpoch)} per epoch of training, ${int(s.examplesPerSec)} examples/s`;
  const show = (v: number) => (s.best.metric === 'nmse' ? num(v) : pct(v));
  const name = s.best.metric === 'nmse' ? 'normalized error' : 'accuracy';
  const best = `best test ${name} ${show(s.best.test.value)} at step ${s.best.test.step}${
    s.best.val ? `; best val ${show(s.best.val.value)} at step ${s.best.val.step} (test there ${show(s.best.val.test)})` : ''
  }`;
  const lines = [head, table(rows), best, timing];
  if (s.alignment) {
    const angles = Object.entries(s.alignment.layers)
      .map(([layer, d]) => `${layer} ${num(d.updateAngle, 1)}°`)
      .join(', ');
    lines.push(`update vs backprop angle at step ${s.alignment.step}: ${angles}`);
  }
  lines.push(`run dir ${s.runDir}${existsSync(join(s.runDir, 'report.html')) ? ' (report.html: learning curves)' : ''}`);
  return lines.join('\n');
}
