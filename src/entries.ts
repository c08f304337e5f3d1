/**
 * Typed registry entries. A rule, model or dataset is defined once, in its own
 * file, with its description, paper and option specs; `create` receives the
 * resolved options typed from those specs (OptionsOf), so no entry casts them.
 */
import type { OptionSpec, OptionsOf } from './options.js';
import type { DataInfo, Dataset, DatasetEntry, LearningRule, Model, ModelEntry, ResolvedOptions, RuleEntry } from './types.js';

/** The one place resolved options meet their static type: resolveOptions filled every key its specs declare. */
const typed = <S extends readonly OptionSpec[]>(o: ResolvedOptions): OptionsOf<S> => o as OptionsOf<S>;

type Definition<E, S extends readonly OptionSpec[], Made> = Omit<E, 'options' | 'create' | 'load'> & { options?: S } & Made;

export function defineRule<const S extends readonly OptionSpec[] = []>(def: Definition<RuleEntry, S, { create(options: OptionsOf<S>): LearningRule }>): RuleEntry {
  return { ...def, options: def.options ?? [], create: (o) => def.create(typed<S>(o)) };
}

export function defineModel<const S extends readonly OptionSpec[] = []>(def: Definition<ModelEntry, S, { create(options: OptionsOf<S>, data: DataInfo): Model }>): ModelEntry {
  return { ...def, options: def.options ?? [], create: (o, data) => def.create(typed<S>(o), data) };
}

export function defineDataset<const S extends readonly OptionSpec[] = []>(
  def: Definition<DatasetEntry, S, { load(options: OptionsOf<S>, ctx?: { seed: number }): Promise<Dataset> }>,
): DatasetEntry {
  return { ...def, options: def.options ?? [], load: (o, ctx) => def.load(typed<S>(o), ctx) };
}
