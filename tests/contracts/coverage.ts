/**
 * Which registered entries have no row in their contract table: the contract
 * tests fail on any, and tests/architecture/extension.test.ts shows that a
 * newly registered entry is reported until its row exists. Tasks need no row:
 * tests/datasets/tasks.test.ts runs its contract over every registered task.
 */
import { analyses, models, rules } from '../../src/registries.js';
import { ANALYSIS_ROWS } from './analysis-rows.js';
import { MODEL_ROWS } from './model-rows.js';
import { FEEDFORWARD_ROWS, TEMPORAL_ROWS } from './rule-rows.js';

export function uncovered(): { rules: string[]; models: string[]; analyses: string[] } {
  const ruleRows = new Set([...FEEDFORWARD_ROWS, ...TEMPORAL_ROWS].map((r) => r.rule));
  return {
    rules: rules.names().filter((n) => !ruleRows.has(n)),
    models: models.names().filter((n) => !MODEL_ROWS[n]),
    analyses: analyses.names().filter((n) => !ANALYSIS_ROWS[n]),
  };
}
