/**
 * The registries the CLI and the trainer look names up in. They start empty;
 * the register modules of rules/, models/, datasets/ and analyses/ fill them
 * (register.ts at the root imports those modules; the package entry and the
 * CLI import it).
 */
import type { AnalysisEntry } from './analysis/contract.js';
import { Registry } from './registry.js';
import type { DatasetEntry, ModelEntry, RuleEntry } from './types.js';

export const rules = new Registry<RuleEntry>('rule');
export const models = new Registry<ModelEntry>('model');
export const datasets = new Registry<DatasetEntry>('dataset');
/** Trial-based neuroscience tasks; each loads as a Dataset of trials. */
export const tasks = new Registry<DatasetEntry>('task');
/** Analyses of trained networks (`biocredit analyze`) and measures recorded during training (`--analyze`). */
export const analyses = new Registry<AnalysisEntry>('analysis', 'analyses');
