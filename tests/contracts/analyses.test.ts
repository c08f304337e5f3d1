/**
 * The contract every registered analysis keeps, one row per analysis (one
 * without a row fails the suite): on a run whose model provides what it
 * requires, `run` gives a result whose numbers are finite and fill some of its
 * declared columns, and the table and page build from it; `measure` (the
 * training-time form) gives finite numbers on the live parameters; a run whose
 * model lacks a requirement is refused before any work, naming both.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeRun } from '../../src/analysis/analyze.js';
import { selectParams } from '../../src/analysis/hvp.js';
import { aggregate, analysisPage, analysisRows } from '../../src/analysis/report.js';
import { UsageError } from '../../src/errors.js';
import { resolveOptions } from '../../src/options.js';
import { analyses } from '../../src/registries.js';
import { Rng } from '../../src/rng.js';
import { loadRun } from '../../src/run.js';
import { train } from '../../src/trainer.js';
import { tempDir } from '../helpers.js';
import { ANALYSIS_ROWS as ROWS, ANALYSIS_RUNS as RUNS } from './analysis-rows.js';
import { uncovered } from './coverage.js';

const dirs: Record<string, string> = {};

beforeAll(async () => {
  for (const [name, spec] of Object.entries(RUNS)) {
    dirs[name] = join(tempDir(), name);
    await train({ logEvery: 0, diagEvery: 0, ...spec }, { out: dirs[name] });
  }
});

describe('analysis contract table', () => {
  it('has a row for every registered analysis', () => {
    expect(uncovered().analyses).toEqual([]);
  });
});

const TABLE = Object.entries(ROWS).map(([name, row]) => ({ name, row, entry: analyses.get(name) }));

describe.each(TABLE)('analysis $name', ({ row, entry }) => {
  it('does what its row says: a result after training, numbers during training, or both', () => {
    expect(Boolean(entry.run)).toBe(row.options !== undefined);
    expect(Boolean(entry.run || entry.measure)).toBe(true);
  });
});

describe.each(TABLE.filter((t) => t.entry.run))('analysis $name after training', ({ name, row, entry }) => {
  it('runs on a trained network: finite numbers in its columns, a table row and a page', async () => {
    const request = { [name]: resolveOptions(`analysis ${name}`, entry.options ?? [], row.options) };
    const a = await analyzeRun(dirs[row.on]!, request);
    expect(a[entry.key]).toBeDefined();
    const numbers = entry.numbers?.(a[entry.key]) ?? {};
    for (const [k, v] of Object.entries(numbers)) expect(Number.isFinite(v), k).toBe(true);
    const declared = (entry.columns ?? []).map((c) => c.key);
    if (declared.length) expect(declared.some((k) => k in numbers)).toBe(true);
    const rows = analysisRows(aggregate([a], [a.group]));
    expect(rows[1]![0]).toBe(a.group);
    expect(await analysisPage({ title: 'contract', command: 'biocredit analyze RUN' }, [a], [a.group])).toContain('<table>');
  });
});

describe.each(TABLE.filter((t) => t.entry.measure))('analysis $name during training', ({ row, entry }) => {
  it('measures on the live parameters: finite numbers', async () => {
    const run = await loadRun(dirs[row.on]!);
    try {
      const m = entry.measure!({ model: run.model, params: run.params, dataset: run.dataset, points: 50, paramNames: selectParams(run.model), traceProbes: 3, rng: new Rng('contract') });
      expect(Object.keys(m).length).toBeGreaterThan(0);
      for (const [k, v] of Object.entries(m)) if (typeof v === 'number') expect(Number.isFinite(v), k).toBe(true);
    } finally {
      for (const t of [...Object.values(run.params), ...Object.values(run.init ?? {})]) t.dispose();
    }
  });
});

describe.each(TABLE.filter((t) => t.row.refusedOn))('analysis $name requirements', ({ name, row, entry }) => {
  it('is refused before any work on a model that lacks what it requires, naming both', async () => {
    const lacking = RUNS[row.refusedOn!];
    if (entry.run) {
      const request = { [name]: resolveOptions(`analysis ${name}`, entry.options ?? [], row.options) };
      await expect(analyzeRun(dirs[row.refusedOn!]!, request)).rejects.toThrow(new RegExp(`^analysis ${name} needs .*; model ${lacking.model} does not provide`));
    }
    if (entry.measure) {
      const refused = train({ ...lacking, analyze: name, analyzeEvery: 5 }, { out: tempDir() });
      await expect(refused).rejects.toThrow(UsageError);
      await expect(train({ ...lacking, analyze: name, analyzeEvery: 5 }, { out: tempDir() })).rejects.toThrow(new RegExp(`^--analyze ${name} needs .*; model ${lacking.model} does not provide`));
    }
  });
});
