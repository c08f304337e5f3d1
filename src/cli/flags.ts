/**
 * The training flags shared by `train` and `compare`: the trainer's own options
 * (src/config.ts) and every option a registered dataset, model or rule declares.
 * A flag that none of the chosen entries accepts is an error, not ignored. With
 * `--rule X --help` (or `--model`, `--dataset`, `--task`), the help shows only
 * the options of the chosen entries, with their own meaning and default.
 */
import { Command, Help, Option } from 'commander';
import { BACKEND_CHOICES, parseBackendChoice, type BackendChoice } from '../backend.js';
import { TRAIN_OPTIONS, type TrainKey, type TrainSpec } from '../config.js';
import { UsageError } from '../errors.js';
import { flagName, type OptionSpec } from '../options.js';
import { datasets, models, rules, tasks } from '../registries.js';
import type { Registry } from '../registry.js';
import type { RegistryItem, RuleEntry } from '../types.js';

export type Kind = 'dataset' | 'model' | 'rule';

/** One flag of a kind (rule, model, dataset), with the spec of every entry that declares it. */
export interface EntryFlag {
  kind: Kind;
  key: string;
  /** The flag with its placeholder, e.g. `--feedback-scale <s>`. */
  flag: string;
  /** Entry name → its spec (descriptions and defaults may differ between entries). */
  specs: Map<string, OptionSpec>;
}

/** Datasets and tasks share the dataset flags: a task is a dataset of trials. */
const dataSources = {
  entries: () => [...datasets.entries(), ...tasks.entries()],
  get: (name: string) => (tasks.has(name) && !datasets.has(name) ? tasks.get(name) : datasets.get(name)),
};

export const REGISTRIES: Record<Kind, Pick<Registry<RegistryItem>, 'entries' | 'get'>> = { dataset: dataSources, model: models, rule: rules };

/** The options every registered dataset, model and rule declares, one flag each (keyed `kind:key`). */
export function entryFlags(): Map<string, EntryFlag> {
  const out = new Map<string, EntryFlag>();
  for (const kind of ['dataset', 'model', 'rule'] as const) {
    for (const entry of REGISTRIES[kind].entries()) {
      for (const spec of entry.options ?? []) {
        const id = `${kind}:${spec.key}`;
        const existing = out.get(id);
        if (existing && flagName(existing.flag) !== flagName(spec.flag)) {
          throw new Error(`${kind} option ${spec.key} is declared with two flags: ${existing.flag} and ${spec.flag}`);
        }
        if (existing) existing.specs.set(entry.name, spec);
        else out.set(id, { kind, key: spec.key, flag: spec.flag, specs: new Map([[entry.name, spec]]) });
      }
    }
  }
  return out;
}

/** The default a flag's help shows, or null when there is nothing to show. */
function shownDefault(spec: OptionSpec): string | null {
  const d = spec.default;
  return d === null || d === false ? null : Array.isArray(d) ? d.join(',') || 'none' : String(d);
}

export function describe(spec: OptionSpec): string {
  const d = shownDefault(spec);
  return d === null ? spec.description : `${spec.description} (default: ${d})`;
}

/**
 * The help text of an entry flag for the given entries: one text when they agree,
 * one text with each entry's default when only the defaults differ (eprop's
 * --feedback is symmetric, rflo's random), else one text per meaning.
 */
export function describeFlag(f: EntryFlag, names: readonly string[] = [...f.specs.keys()]): string {
  const meanings = new Map<string, { specs: OptionSpec[]; who: string[] }>();
  for (const name of names) {
    const spec = f.specs.get(name);
    if (!spec) continue;
    const m = meanings.get(spec.description) ?? { specs: [], who: [] };
    m.specs.push(spec);
    m.who.push(name);
    meanings.set(spec.description, m);
  }
  const texts = [...meanings].map(([description, { specs, who }]) => {
    const defaults = new Map<string, string[]>();
    specs.forEach((spec, i) => {
      const d = shownDefault(spec) ?? 'none';
      defaults.set(d, [...(defaults.get(d) ?? []), who[i]!]);
    });
    if (defaults.size < 2) return { text: describe(specs[0]!), who, named: false };
    const each = [...defaults].map(([d, n]) => `${d} for ${n.join(', ')}`).join('; ');
    return { text: `${description} (default: ${each})`, who, named: true };
  });
  const only = texts.length === 1 ? texts[0] : undefined;
  if (only) return names.length === 1 || only.named ? only.text : `${only.text} [${only.who.join(', ')}]`;
  return texts.map(({ text, who }) => `${who.join(', ')}: ${text}`).join('; ');
}

/** `--backend`, as train, compare and analyze accept it. */
export function backendOption(): Option {
  return new Option('--backend <name>', 'tfjs backend (default: auto = tfjs-node, else wasm, else cpu; or BIOCREDIT_BACKEND)').choices(
    BACKEND_CHOICES as unknown as string[],
  );
}

/** commander's attribute name of a flag such as --batch-size. */
export function attributeName(flag: string): string {
  return flagName(flag)
    // A negatable flag (--no-bias) sets the attribute it negates (bias = false).
    .replace(/^--(no-)?/, '')
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

const GROUPS: [string, TrainKey[]][] = [
  ['Run:', ['dataset', 'task', 'model', 'rule', 'seed']],
  ['Optimization:', ['optimizer', 'lr', 'momentum', 'weightDecay', 'clipNorm', 'lrDecay', 'lrDecayEvery']],
  ['Schedule:', ['epochs', 'steps', 'batchSize', 'evalEvery', 'evalBatchSize', 'finalTrainEval', 'checkpointEvery', 'logEvery', 'diagEvery']],
  ['Analysis during training:', ['analyzeEvery', 'analyze', 'analyzePoints', 'analyzeParams', 'analyzeTrace']],
];

/** The entries of each kind chosen on the command line (none: all of them apply). */
function chosenOnCli(cmd: Command): Partial<Record<Kind, string[]>> {
  const given = (attr: string) => (cmd.getOptionValueSource(attr) === 'cli' ? String(cmd.getOptionValue(attr)) : undefined);
  const out: Partial<Record<Kind, string[]>> = {};
  const rule = given('rule') ?? given('rules');
  if (rule !== undefined) out.rule = rule.split(',').map((s) => s.trim()).filter(Boolean);
  const model = given('model');
  if (model !== undefined) out.model = [model];
  const data = given('task') ?? given('dataset');
  if (data !== undefined) out.dataset = [data];
  return out;
}

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
      cmd.addOption(backendOption());
      extra(cmd);
    }
  });
  const flags = entryFlags();
  const byOption = new Map<Option, EntryFlag>();
  const headings: Record<Kind, string> = { dataset: 'Dataset options:', model: 'Model options:', rule: 'Rule options:' };
  for (const kind of ['dataset', 'model', 'rule'] as const) {
    const mine = [...flags.values()].filter((f) => f.kind === kind);
    if (!mine.length) continue;
    cmd.optionsGroup(headings[kind]);
    for (const f of mine) {
      const option = new Option(f.flag, describeFlag(f));
      cmd.addOption(option);
      byOption.set(option, f);
    }
  }
  // Help for the entries chosen on the command line: their flags only, in their own words.
  const base = new Help();
  cmd.configureHelp({
    visibleOptions(c: Command) {
      const chosen = chosenOnCli(c);
      return base.visibleOptions(c).filter((o) => {
        const f = byOption.get(o);
        const names = f ? chosen[f.kind] : undefined;
        return !f || !names || names.some((n) => f.specs.has(n));
      });
    },
    optionDescription(o: Option) {
      const f = byOption.get(o);
      const names = f ? chosenOnCli(cmd)[f.kind] : undefined;
      return f && names ? describeFlag(f, names.filter((n) => f.specs.has(n))) : base.optionDescription(o);
    },
    commandDescription(c: Command) {
      const chosen = chosenOnCli(c);
      const lines = (['rule', 'model', 'dataset'] as const).flatMap((kind) =>
        (chosen[kind] ?? []).flatMap((name) => {
          try {
            const e = REGISTRIES[kind].get(name);
            const line = `${kind} ${e.name}: ${e.description}${e.reference ? ` (${e.reference})` : ''}`;
            return kind === 'rule' ? [line, ...presetLine(e as RuleEntry)] : [line];
          } catch {
            return [];
          }
        }),
      );
      return [base.commandDescription(c), ...lines].join('\n');
    },
  });
  return flags;
}

/** What a rule sets where the command does not (RuleEntry.defaults), as flags. */
function presetLine(rule: RuleEntry): string[] {
  const d = rule.defaults;
  if (!d) return [];
  const flags = [
    ...(d.batchSize !== undefined ? [`--batch-size ${d.batchSize}`] : []),
    ...(d.logEvery !== undefined ? [`--log-every ${d.logEvery}`] : []),
    ...(d.diagEvery !== undefined ? [`--diag-every ${d.diagEvery}`] : []),
    ...Object.entries(d.model ?? {}).map(([k, v]) => {
      const spec = [...models.entries()].flatMap((m) => m.options ?? []).find((o) => o.key === k);
      const flag = spec ? flagName(spec.flag) : `--${k}`;
      return typeof v === 'boolean' ? (v ? flag : '') : `${flag} ${Array.isArray(v) ? v.join(',') : String(v)}`;
    }),
  ].filter(Boolean);
  return [`  unless given, trains with ${flags.join(' ')} (its papers' settings)`];
}

export type RawFlags = Record<string, string | boolean | string[] | undefined>;

export interface ParsedTrainFlags {
  /** Trainer settings and dataset/model options; no rule, rule options or seed. */
  spec: TrainSpec;
  /** Rule options given on the command line, for the rules that accept them. */
  ruleOptions(rule: string): Record<string, unknown>;
  backend: BackendChoice | undefined;
}

/**
 * Reads the training flags given on the command line. `ruleNames` are the rules
 * the command will run; every rule flag given must apply to at least one of them.
 */
export function readTrainFlags(cmd: Command, raw: RawFlags, flags: Map<string, EntryFlag>, ruleNames: string[]): ParsedTrainFlags {
  const fromCli = (attr: string) => cmd.getOptionValueSource(attr) === 'cli';
  const spec: TrainSpec = {};
  for (const [key, o] of Object.entries(TRAIN_OPTIONS)) {
    if (key === 'rule' || key === 'seed') continue;
    const attr = attributeName(o.flag);
    if (fromCli(attr)) (spec as Record<string, unknown>)[key] = raw[attr];
  }
  const backend = raw['backend'] === undefined ? undefined : parseBackendChoice(String(raw['backend']), '--backend');
  if (backend) spec.backend = backend;
  const chosen = {
    dataset: [String(spec.task ?? spec.dataset ?? TRAIN_OPTIONS.dataset.default)],
    model: [String(spec.model ?? TRAIN_OPTIONS.model.default)],
    rule: ruleNames,
  };
  if (spec.task !== undefined) tasks.get(String(spec.task));
  for (const kind of ['dataset', 'model', 'rule'] as const) for (const name of chosen[kind]) REGISTRIES[kind].get(name);
  const given: Record<Kind, Record<string, unknown>> = { dataset: {}, model: {}, rule: {} };
  const ruleFlags: { flag: EntryFlag; value: unknown }[] = [];
  for (const f of flags.values()) {
    const attr = attributeName(f.flag);
    if (!fromCli(attr)) continue;
    const accepting = chosen[f.kind].filter((n) => f.specs.has(n));
    if (!accepting.length) {
      // Tasks share the dataset option group; name them as what they are.
      const kind = f.kind === 'dataset' && spec.task !== undefined ? 'task' : f.kind;
      const what = chosen[f.kind].length === 1 ? `${kind} ${chosen[f.kind][0]}` : `any of the ${kind}s ${chosen[f.kind].join(', ')}`;
      throw new UsageError(`${flagName(f.flag)} does not apply to ${what} (it is an option of ${[...f.specs.keys()].join(', ')})`);
    }
    given[f.kind][f.key] = raw[attr];
    if (f.kind === 'rule') ruleFlags.push({ flag: f, value: raw[attr] });
  }
  spec.datasetOptions = given.dataset;
  spec.modelOptions = given.model;
  return {
    spec,
    backend,
    ruleOptions: (rule) => Object.fromEntries(ruleFlags.filter(({ flag }) => flag.specs.has(rule)).map(({ flag, value }) => [flag.key, value])),
  };
}
