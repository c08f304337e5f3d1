/**
 * The training flags shared by `train` and `compare`: the trainer's own options
 * (src/config.ts) and every option a registered dataset, model or rule declares.
 * A flag that none of the chosen entries accepts is an error, not ignored.
 */
import { Command, Option } from 'commander';
import { BACKEND_CHOICES, parseBackendChoice, type BackendChoice } from '../backend.js';
import { TRAIN_OPTIONS, type TrainSpec } from '../config.js';
import { UsageError } from '../errors.js';
import { flagName, type OptionSpec } from '../options.js';
import { datasets, models, rules, tasks } from '../registries.js';
import type { Registry, RegistryItem } from '../registry.js';

export type Kind = 'dataset' | 'model' | 'rule';
export type TrainKey = keyof typeof TRAIN_OPTIONS;

export interface EntryFlag {
  spec: OptionSpec;
  kind: Kind;
  /** Entries of this kind that accept the flag. */
  entries: string[];
}

/** Datasets and tasks share the dataset flags: a task is a dataset of trials. */
const dataSources = {
  entries: () => [...datasets.entries(), ...tasks.entries()],
  get: (name: string) => (tasks.has(name) && !datasets.has(name) ? tasks.get(name) : datasets.get(name)),
};

const REGISTRIES: Record<Kind, Pick<Registry<RegistryItem>, 'entries' | 'get'>> = { dataset: dataSources, model: models, rule: rules };

/** The options every registered dataset, model and rule declares, one flag each. */
export function entryFlags(): Map<string, EntryFlag> {
  const out = new Map<string, EntryFlag>();
  for (const kind of ['dataset', 'model', 'rule'] as const) {
    for (const entry of REGISTRIES[kind].entries()) {
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

export function describe(spec: OptionSpec): string {
  const d = spec.default;
  const shown = d === null || d === false ? '' : Array.isArray(d) ? ` (default: ${d.join(',') || 'none'})` : ` (default: ${String(d)})`;
  return `${spec.description}${shown}`;
}

/** commander's attribute name of a flag such as --batch-size. */
export function attributeName(flag: string): string {
  return flagName(flag)
    .replace(/^--/, '')
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

const GROUPS: [string, TrainKey[]][] = [
  ['Run:', ['dataset', 'task', 'model', 'rule', 'seed']],
  ['Optimization:', ['optimizer', 'lr', 'momentum', 'weightDecay', 'clipNorm', 'lrDecay', 'lrDecayEvery']],
  ['Schedule:', ['epochs', 'steps', 'batchSize', 'evalEvery', 'evalBatchSize', 'finalTrainEval', 'checkpointEvery', 'logEvery', 'diagEvery']],
  ['Analysis during training:', ['analyzeEvery', 'analyze', 'analyzePoints']],
];

/**
 * Adds the training flags to `cmd`, except `exclude`; `extra` is called right
 * after the Run group so commands can add their own run flags there.
 */
export function addTrainFlags(cmd: Command, exclude: ReadonlySet<TrainKey>, extra: (cmd: Command) => void): Map<string, EntryFlag> {
  GROUPS.forEach(([heading, keys], i) => {
    cmd.optionsGroup(heading);
    for (const key of keys) {
      if (exclude.has(key)) continue;
      const o = TRAIN_OPTIONS[key];
      cmd.option(o.flag, describe(o));
    }
    if (i === 0) {
      cmd.addOption(
        new Option('--backend <name>', 'tfjs backend (default: auto = tfjs-node, else wasm, else cpu; or BIOCREDIT_BACKEND)').choices(
          BACKEND_CHOICES as unknown as string[],
        ),
      );
      extra(cmd);
    }
  });
  const flags = entryFlags();
  const headings: Record<Kind, string> = { dataset: 'Dataset options:', model: 'Model options:', rule: 'Rule options:' };
  for (const kind of ['dataset', 'model', 'rule'] as const) {
    const mine = [...flags.values()].filter((f) => f.kind === kind);
    if (!mine.length) continue;
    cmd.optionsGroup(headings[kind]);
    for (const f of mine) cmd.option(f.spec.flag, `${describe(f.spec)} [${f.entries.join(', ')}]`);
  }
  return flags;
}

export type RawFlags = Record<string, string | boolean | undefined>;

export interface ParsedTrainFlags {
  /** Trainer settings and dataset/model options; no rule, rule options or seed. */
  spec: TrainSpec;
  /** Rule options given on the command line, for the rules that accept them. */
  ruleOptions(rule: string): Record<string, unknown>;
  /** The command-line arguments that reproduce these settings for one rule (for worker processes). */
  args(rule: string): string[];
  backend: BackendChoice | undefined;
}

/**
 * Reads the training flags given on the command line. `ruleNames` are the rules
 * the command will run; every rule flag given must apply to at least one of them.
 */
export function readTrainFlags(cmd: Command, raw: RawFlags, flags: Map<string, EntryFlag>, ruleNames: string[]): ParsedTrainFlags {
  const fromCli = (attr: string) => cmd.getOptionValueSource(attr) === 'cli';
  const spec: TrainSpec = {};
  const args: string[] = [];
  for (const [key, o] of Object.entries(TRAIN_OPTIONS)) {
    if (key === 'rule' || key === 'seed') continue;
    const attr = attributeName(o.flag);
    if (!fromCli(attr)) continue;
    (spec as Record<string, unknown>)[key] = raw[attr];
    args.push(flagName(o.flag), String(raw[attr]));
  }
  const backend = raw['backend'] === undefined ? undefined : parseBackendChoice(String(raw['backend']), '--backend');
  if (backend) {
    spec.backend = backend;
    args.push('--backend', backend);
  }
  const chosen = {
    dataset: [String(spec.task ?? spec.dataset ?? TRAIN_OPTIONS.dataset.default)],
    model: [String(spec.model ?? TRAIN_OPTIONS.model.default)],
    rule: ruleNames,
  };
  if (spec.task !== undefined) tasks.get(String(spec.task));
  for (const kind of ['dataset', 'model', 'rule'] as const) for (const name of chosen[kind]) REGISTRIES[kind].get(name);
  const given: Record<Kind, Record<string, unknown>> = { dataset: {}, model: {}, rule: {} };
  const ruleFlags: { flag: EntryFlag; value: string | boolean }[] = [];
  for (const f of flags.values()) {
    const attr = attributeName(f.spec.flag);
    if (!fromCli(attr)) continue;
    const accepting = chosen[f.kind].filter((n) => f.entries.includes(n));
    if (!accepting.length) {
      const what = chosen[f.kind].length === 1 ? `${f.kind} ${chosen[f.kind][0]}` : `any of the ${f.kind}s ${chosen[f.kind].join(', ')}`;
      throw new UsageError(`${flagName(f.spec.flag)} does not apply to ${what} (it is an option of ${f.entries.join(', ')})`);
    }
    const value = raw[attr]!;
    given[f.kind][f.spec.key] = value;
    if (f.kind === 'rule') ruleFlags.push({ flag: f, value });
    else args.push(...(value === true ? [flagName(f.spec.flag)] : [flagName(f.spec.flag), String(value)]));
  }
  spec.datasetOptions = given.dataset;
  spec.modelOptions = given.model;
  const forRule = (rule: string) => ruleFlags.filter(({ flag }) => flag.entries.includes(rule));
  return {
    spec,
    backend,
    ruleOptions: (rule) => Object.fromEntries(forRule(rule).map(({ flag, value }) => [flag.spec.key, value])),
    args: (rule) => [
      ...args,
      ...forRule(rule).flatMap(({ flag, value }) => (value === true ? [flagName(flag.spec.flag)] : [flagName(flag.spec.flag), String(value)])),
    ],
  };
}
