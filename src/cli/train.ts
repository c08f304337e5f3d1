/** `biocredit train`: one run from flags, or `--resume RUN_DIR`. */
import chalk from 'chalk';
import { Command, Option } from 'commander';
import { BACKEND_CHOICES, parseBackendChoice } from '../backend.js';
import { TRAIN_OPTIONS, type TrainSpec } from '../config.js';
import { UsageError } from '../errors.js';
import { flagName, parse, parseFlag, type OptionSpec } from '../options.js';
import { datasets, models, rules } from '../registries.js';
import type { Registry, RegistryItem } from '../registry.js';
import { resume, train, type RunSummary } from '../trainer.js';
import { duration, int, num, pct, table } from './format.js';
import { createCliReporter } from './reporter.js';

type Kind = 'dataset' | 'model' | 'rule';

interface EntryFlag {
  spec: OptionSpec;
  kind: Kind;
  /** Entries of this kind that accept the flag. */
  entries: string[];
}

/** The options every registered dataset, model and rule declares, one flag each. */
function entryFlags(): Map<string, EntryFlag> {
  const out = new Map<string, EntryFlag>();
  const kinds: [Kind, Registry<RegistryItem>][] = [
    ['dataset', datasets],
    ['model', models],
    ['rule', rules],
  ];
  for (const [kind, registry] of kinds) {
    for (const entry of registry.entries()) {
      for (const spec of entry.options ?? []) {
        const key = `${kind}:${spec.key}`;
        const existing = out.get(key);
        if (existing) {
          if (flagName(existing.spec.flag) !== flagName(spec.flag)) {
            throw new Error(`${kind} option ${spec.key} is declared with two flags: ${existing.spec.flag} and ${spec.flag}`);
          }
          existing.entries.push(entry.name);
        } else {
          out.set(key, { spec, kind, entries: [entry.name] });
        }
      }
    }
  }
  return out;
}

function describe(spec: OptionSpec): string {
  const d = spec.default;
  const shown = d === null ? '' : Array.isArray(d) ? ` (default: ${d.join(',') || 'none'})` : ` (default: ${String(d)})`;
  return `${spec.description}${shown}`;
}

/** camelCase commander key of a flag such as --batch-size. */
function attributeName(flag: string): string {
  return flagName(flag)
    .replace(/^--/, '')
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

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
  $ biocredit train --resume runs/20261122-120000-bp-mlp-mnist

A run killed or interrupted (Ctrl-C) continues from its last checkpoint with --resume.`,
    );
  cmd.optionsGroup('Run:');
  for (const key of ['dataset', 'model', 'rule', 'seed'] as const) {
    const o = TRAIN_OPTIONS[key];
    cmd.option(o.flag, describe(o));
  }
  cmd.addOption(
    new Option('--backend <name>', 'tfjs backend (default: auto = tfjs-node, else wasm, else cpu; or BIOCREDIT_BACKEND)').choices(
      BACKEND_CHOICES as unknown as string[],
    ),
  );
  cmd.option('--out <dir>', 'run directory (default: runs/<timestamp>-<rule>-<model>-<dataset>)');
  cmd.option('--resume <dir>', 'continue the run in <dir> from its last checkpoint (--epochs/--steps may extend it)');
  cmd.option('--json', 'print one machine-readable JSON summary on stdout');
  cmd.option('--quiet', 'no progress output');
  cmd.optionsGroup('Optimization:');
  for (const key of ['optimizer', 'lr', 'momentum', 'weightDecay', 'clipNorm'] as const) {
    const o = TRAIN_OPTIONS[key];
    cmd.option(o.flag, describe(o));
  }
  cmd.optionsGroup('Schedule:');
  for (const key of ['epochs', 'steps', 'batchSize', 'evalEvery', 'evalBatchSize', 'checkpointEvery', 'logEvery'] as const) {
    const o = TRAIN_OPTIONS[key];
    cmd.option(o.flag, describe(o));
  }
  const flags = entryFlags();
  const headings: Record<Kind, string> = {
    dataset: 'Dataset options:',
    model: 'Model options:',
    rule: 'Rule options:',
  };
  for (const kind of ['dataset', 'model', 'rule'] as const) {
    const mine = [...flags.values()].filter((f) => f.kind === kind);
    if (!mine.length) continue;
    cmd.optionsGroup(headings[kind]);
    for (const f of mine) cmd.option(f.spec.flag, `${describe(f.spec)} [${f.entries.join(', ')}]`);
  }
  cmd.action(async (raw: Record<string, string | boolean | undefined>) => {
    const fromCli = (attr: string) => cmd.getOptionValueSource(attr) === 'cli';
    const backend = raw['backend'] === undefined ? undefined : parseBackendChoice(String(raw['backend']), '--backend');
    const reporter = createCliReporter({ quiet: Boolean(raw['quiet']), tty: Boolean(process.stderr.isTTY) });
    const controller = new AbortController();
    const onSignal = () => {
      if (controller.signal.aborted) process.exit(130);
      reporter.stop();
      process.stderr.write('\nstopping at the next step and saving a checkpoint (press Ctrl-C again to quit at once)\n');
      controller.abort();
    };
    let summary: RunSummary;
    if (raw['resume'] !== undefined) {
      for (const [key, o] of Object.entries(TRAIN_OPTIONS)) {
        if (!RESUME_FLAGS.has(key) && fromCli(attributeName(o.flag))) {
          throw new UsageError(`${flagName(o.flag)} cannot be given with --resume: the run's config.json fixes it`);
        }
      }
      for (const f of flags.values()) {
        if (fromCli(attributeName(f.spec.flag))) {
          throw new UsageError(`${flagName(f.spec.flag)} cannot be given with --resume: the run's config.json fixes it`);
        }
      }
      if (fromCli('out')) throw new UsageError('--out cannot be given with --resume: the run directory is the one resumed');
      const opts = {
        ...(raw['epochs'] !== undefined ? { epochs: parseFlag('--epochs', String(raw['epochs']), parse.positiveInt) } : {}),
        ...(raw['steps'] !== undefined ? { steps: parseFlag('--steps', String(raw['steps']), parse.positiveInt) } : {}),
      };
      process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
      try {
        summary = await resume(String(raw['resume']), { ...opts, ...(backend ? { backend } : {}), reporter, signal: controller.signal });
      } finally {
        reporter.stop();
      }
    } else {
      const spec: TrainSpec = {};
      for (const [key, o] of Object.entries(TRAIN_OPTIONS)) {
        const v = raw[attributeName(o.flag)];
        if (v !== undefined) (spec as Record<string, unknown>)[key] = v;
      }
      if (backend) spec.backend = backend;
      // Entry options go to the entry that declares them; a flag no chosen entry
      // accepts is an error rather than silently ignored.
      const chosen: Record<Kind, string> = {
        dataset: String(spec.dataset ?? TRAIN_OPTIONS.dataset.default),
        model: String(spec.model ?? TRAIN_OPTIONS.model.default),
        rule: String(spec.rule ?? TRAIN_OPTIONS.rule.default),
      };
      const registries = { dataset: datasets, model: models, rule: rules } as const;
      for (const kind of ['dataset', 'model', 'rule'] as const) registries[kind].get(chosen[kind]);
      const given: Record<Kind, Record<string, unknown>> = { dataset: {}, model: {}, rule: {} };
      for (const f of flags.values()) {
        const attr = attributeName(f.spec.flag);
        if (!fromCli(attr)) continue;
        if (!f.entries.includes(chosen[f.kind])) {
          throw new UsageError(`${flagName(f.spec.flag)} does not apply to ${f.kind} ${chosen[f.kind]} (it is an option of ${f.entries.join(', ')})`);
        }
        given[f.kind][f.spec.key] = raw[attr];
      }
      spec.datasetOptions = given.dataset;
      spec.modelOptions = given.model;
      spec.ruleOptions = given.rule;
      process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
      try {
        summary = await train(spec, {
          ...(raw['out'] !== undefined ? { out: String(raw['out']) } : {}),
          reporter,
          signal: controller.signal,
        });
      } finally {
        reporter.stop();
      }
    }
    process.removeListener('SIGINT', onSignal).removeListener('SIGTERM', onSignal);
    if (raw['json']) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else process.stdout.write(`${summaryText(summary)}\n`);
    if (summary.status === 'interrupted') {
      process.stderr.write(`interrupted at step ${summary.steps}/${summary.totalSteps}; continue with: biocredit train --resume ${summary.runDir}\n`);
      process.exitCode = 130;
    }
  });
  return cmd;
}

export function summaryText(s: RunSummary): string {
  const rows = [['split', 'loss', 'accuracy']];
  for (const split of ['train', 'val', 'test'] as const) {
    const r = s.final[split];
    if (r) rows.push([split, num(r.loss), pct(r.accuracy)]);
  }
  const head = `${chalk.bold(s.status === 'finished' ? 'finished' : 'interrupted')} ${s.rule} / ${s.model} / ${s.dataset} (seed ${s.seed}, ${s.backend}): ${s.steps}/${s.totalSteps} steps, ${num(s.epochs, 2)} epochs`;
  const timing = `time ${duration(s.wallSec)} total, ${duration(s.secPerEpoch)} per epoch of training, ${int(s.examplesPerSec)} examples/s`;
  const best = `best test accuracy ${pct(s.best.test.accuracy)} at step ${s.best.test.step}${
    s.best.val ? `; best val ${pct(s.best.val.accuracy)} at step ${s.best.val.step} (test there ${pct(s.best.val.testAccuracy)})` : ''
  }`;
  return [head, table(rows), best, timing, `run dir ${s.runDir}`].join('\n');
}
