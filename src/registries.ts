/**
 * The registries the CLI and the trainer look names up in. They start empty;
 * the register modules of rules/, models/ and datasets/ fill them (the package
 * entry and the CLI import those modules explicitly).
 */
import { Registry } from './registry.js';
import type { AnalysisEntry, DatasetEntry, ModelEntry, RuleEntry } from './types.js';

export const rules = new Registry<RuleEntry>('rule');
export const models = new Registry<ModelEntry>('model');
export const datasets = new Registry<DatasetEntry>('dataset');
/** Trial-based neuroscience tasks; each loads as a Dataset of trials. */
export const tasks = new Registry<DatasetEntry>('task');
/** Measures that can be recorded during training (`--analyze`); filled by src/analysis/hooks.ts. */
export const analyses = new Registry<AnalysisEntry>('analysis');
