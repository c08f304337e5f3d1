/**
 * `compare --grid name=v1,v2` (repeatable): sweeps over any training, dataset,
 * model or rule option. The groups of a comparison are every rule crossed with
 * the values of the swept options that apply to it (an option of one rule only,
 * or an optimizer option and a rule with no optimizer, leave the others
 * unswept). List values go in brackets: `--grid hidden=[256,256],[512]`.
 */
import { formatValue, groupLabel, type Group } from '../compare.js';
import { OPTIMIZER_KEYS, TRAIN_OPTIONS, type TrainKey } from '../config.js';
import { UsageError } from '../errors.js';
import { flagName, parseFlag, type OptionSpec, type OptionValue } from '../options.js';
import { rules } from '../registries.js';
import { REGISTRIES, type EntryFlag, type Kind } from './flags.js';

export interface GridAxis {
  /** The name given (the flag without dashes: lr, batch-size, hidden). */
  name: string;
  kind: 'train' | Kind;
  /** TrainSpec field or the entry option's key. */
  key: string;
  values: OptionValue[];
}

/** Options a comparison fixes by other means. */
const NOT_SWEPT: Partial<Record<TrainKey, string>> = {
  seed: 'vary seeds with --seeds',
  rule: 'vary rules with --rules',
  dataset: 'a comparison runs on one dataset',
  task: 'a comparison runs on one task',
  model: 'a comparison trains one model family',
};

/** Splits `a,b,[c,d]` at the commas outside brackets, unwrapping bracketed items. */
function splitValues(raw: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of raw) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((v) => v.trim().replace(/^\[(.*)\]$/, '$1'));
}

const bare = (flag: string) => flagName(flag).replace(/^--/, '');

export interface Chosen {
  dataset: string;
  model: string;
  rules: string[];
}

/** Parses every --grid; each value is checked by the option's own parser. */
export function parseGrid(raws: string[], flags: Map<string, EntryFlag>, chosen: Chosen, givenAsFlag: (flag: string) => boolean): GridAxis[] {
  const axes: GridAxis[] = [];
  for (const raw of raws) {
    const eq = raw.indexOf('=');
    if (eq <= 0) throw new UsageError(`--grid ${raw}: expected name=values, e.g. --grid lr=1e-3,3e-3`);
    const name = raw.slice(0, eq).trim().replace(/^--/, '');
    const list = raw.slice(eq + 1);
    const train = (Object.keys(TRAIN_OPTIONS) as TrainKey[]).find((k) => k === name || bare(TRAIN_OPTIONS[k].flag) === name);
    const entry = [...flags.values()].filter((f) => f.key === name || bare(f.flag) === name);
    if (train && NOT_SWEPT[train]) throw new UsageError(`--grid ${name}: ${NOT_SWEPT[train]}`);
    if (!train && !entry.length) {
      throw new UsageError(`--grid ${name}: no training, dataset, model or rule option has that name (e.g. lr, batch-size, hidden; see biocredit train --help)`);
    }
    if (!list.trim()) throw new UsageError(`--grid ${name}= lists no values; give them as --grid ${name}=a,b`);
    const values = splitValues(list);
    if (values.some((v) => v === '')) throw new UsageError(`--grid ${raw}: an empty value in the list`);
    let specs: { kind: GridAxis['kind']; spec: OptionSpec }[];
    if (train) specs = [{ kind: 'train', spec: TRAIN_OPTIONS[train] }];
    else {
      specs = entry.flatMap((f) => {
        const names = f.kind === 'rule' ? chosen.rules : [f.kind === 'model' ? chosen.model : chosen.dataset];
        return names.filter((n) => f.specs.has(n)).map((n) => ({ kind: f.kind, spec: f.specs.get(n)! }));
      });
      if (!specs.length) {
        const owners = entry.flatMap((f) => [...f.specs.keys()]).join(', ');
        throw new UsageError(`--grid ${name} does not apply to the ${chosen.rules.length > 1 ? 'rules' : 'rule'} ${chosen.rules.join(', ')}, model ${chosen.model} or dataset ${chosen.dataset} (it is an option of ${owners})`);
      }
      if (new Set(specs.map((s) => s.kind)).size > 1) throw new UsageError(`--grid ${name} names options of several kinds (${[...new Set(specs.map((s) => s.kind))].join(', ')})`);
    }
    const { kind, spec } = specs[0]!;
    // One name per option however it was written (batchSize, batch-size): labels and fingerprints agree.
    const canonical = bare(spec.flag);
    if (axes.some((a) => a.name === canonical)) throw new UsageError(`--grid ${canonical} is given twice`);
    if (givenAsFlag(spec.flag)) throw new UsageError(`${flagName(spec.flag)} is given and swept by --grid ${name}; give one of them`);
    const parsed = values.map((v) => {
      try {
        for (const s of specs) parseFlag(s.spec.flag, v, s.spec.parse);
        return parseFlag(spec.flag, v, spec.parse);
      } catch (e) {
        throw new UsageError(`--grid ${name}: ${(e as Error).message}`);
      }
    });
    const labels = parsed.map(formatValue);
    const twice = labels.find((l, i) => labels.indexOf(l) !== i);
    if (twice !== undefined) throw new UsageError(`--grid ${raw}: a value is listed twice (${twice})`);
    axes.push({ name: canonical, kind, key: train ?? spec.key, values: parsed });
  }
  return axes;
}

/** Whether a swept option applies to a rule (optimizer options do not apply to rules that make their own updates). */
function applies(axis: GridAxis, rule: string): boolean {
  if (axis.kind === 'rule') return REGISTRIES.rule.get(rule).options?.some((o) => o.key === axis.key) ?? false;
  if (axis.kind === 'train' && OPTIMIZER_KEYS.includes(axis.key as TrainKey)) return rules.get(rule).output === 'gradient';
  return true;
}

/** Every rule crossed with the values of the swept options that apply to it. */
export function gridGroups(ruleNames: string[], axes: GridAxis[]): Group[] {
  for (const a of axes) {
    if (!ruleNames.some((r) => applies(a, r))) throw new UsageError(`--grid ${a.name} does not apply to ${ruleNames.join(', ')}: they apply their own updates, with no optimizer`);
  }
  return ruleNames.flatMap((rule) => {
    const mine = axes.filter((a) => applies(a, rule));
    let combos: Record<string, OptionValue>[] = [{}];
    for (const a of mine) combos = combos.flatMap((c) => a.values.map((v) => ({ ...c, [a.name]: v })));
    return combos.map((values) => ({ label: groupLabel(rule, values), rule, values }));
  });
}
