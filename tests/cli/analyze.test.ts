/** `biocredit analyze` and the analyses recorded during training, end to end on small runs. */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { oneLineError, runCli, tempDir } from '../helpers.js';

const small = ['--dataset', 'mnist-mini', '--hidden', '16', '--steps', '60', '--eval-every', '30', '--quiet'];

const metrics = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('biocredit analyze on a run directory', () => {
  const root = tempDir();
  const run = join(root, 'run');

  it('prints λ_max, trace and gap, and writes analysis.json and analysis.html', () => {
    expect(runCli(['train', ...small, '--out', run]).code).toBe(0);
    const r = runCli(['analyze', run, '--points', '200', '--probes', '12', '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    const a = j.runs[0];
    expect(a.hessian.points).toBe(200);
    expect(a.hessian.dim).toBe(784 * 16 + 16 + 16 * 10 + 10);
    expect(a.hessian.topK.converged).toBe(true);
    expect(a.hessian.topK.values[0]).toBeGreaterThan(0);
    // The top eigenvalue bounds the mean eigenvalue: λ_max ≥ trace / dim.
    expect(a.hessian.topK.values[0]).toBeGreaterThan(a.hessian.trace.value / a.hessian.dim);
    expect(a.hessian.trace.se).toBeGreaterThan(0);
    expect(a.hessian.hvpCheck).toBeLessThan(1e-4);
    expect(a.gap.train.n).toBe(8000);
    expect(a.gap.lossGap).toBeCloseTo(a.gap.test.loss - a.gap.train.loss, 12);
    expect(j.groups.bp.lambdaMax.mean).toBe(a.hessian.topK.values[0]);
    expect(JSON.parse(readFileSync(join(run, 'analysis.json'), 'utf8')).hessian.topK.values).toEqual(a.hessian.topK.values);
    // One run: its numbers are in the table, with no per-group figures of one dot each.
    expect(readFileSync(join(run, 'analysis.html'), 'utf8')).toContain('<th>λ_max</th><th>trace</th><th>loss gap</th>');
  });

  it('reuses a stored analysis with the same options and recomputes with --force', () => {
    const again = runCli(['analyze', run, '--points', '200', '--probes', '12']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('hessian: kept from analysis.json (same options, step 60)');
    expect(again.stdout).toMatch(/λ_max/);
    const forced = runCli(['analyze', run, '--points', '200', '--probes', '12', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).not.toContain('kept from');
  });

  it('restricts to --params, and gives the same λ_max with power iteration as with Lanczos', () => {
    const before = JSON.parse(readFileSync(join(run, 'analysis.json'), 'utf8'));
    const lz = JSON.parse(runCli(['analyze', run, '--hessian', 'top-k=2', '--params', 'l1/*', '--points', '200', '--tol', '1e-5', '--no-gap', '--json', '--quiet', '--force']).stdout);
    const pw = JSON.parse(
      runCli(['analyze', run, '--hessian', 'top-k=2', '--params', 'l1/*', '--points', '200', '--method', 'power', '--tol', '1e-6', '--max-iter', '500', '--no-gap', '--json', '--quiet', '--force']).stdout,
    );
    const [a, b] = [lz.runs[0].hessian, pw.runs[0].hessian];
    expect(a.params).toEqual(['l1/W', 'l1/b']);
    expect(a.dim).toBe(16 * 10 + 10);
    // --no-gap leaves the stored gap as it was; --force recomputes only what was asked.
    expect(lz.runs[0].measures.gap).toEqual(before.measures.gap);
    expect(lz.runs[0].measures.hessian.options.params).toBe('l1/*');
    expect(Math.abs(a.topK.values[0] - b.topK.values[0]) / a.topK.values[0]).toBeLessThan(0.01);
  });

  it('measures sharpness and geometry', () => {
    const r = runCli(['analyze', run, '--hessian', 'density', '--density-steps', '12', '--sharpness', '--geometry', '--points', '200', '--json', '--quiet', '--force']);
    expect(r.code, r.stderr).toBe(0);
    const a = JSON.parse(r.stdout).runs[0];
    expect(a.sharpness.sam.value).toBeGreaterThan(0);
    expect(a.sharpness.epsilon.value).toBeGreaterThan(0);
    expect(Object.keys(a.geometry.effectiveRank)).toEqual(['l0/W', 'l1/W']);
    expect(a.geometry.effectiveRank['l1/W']).toBeGreaterThan(1);
    expect(a.geometry.effectiveRank['l1/W']).toBeLessThanOrEqual(10);
    expect(Object.keys(a.geometry.participationRatio)).toEqual(['l0']);
    expect(a.geometry.weightChange['l0/W'].distance).toBeGreaterThan(0);
    expect(a.geometry.kernelAlignment).toBeGreaterThan(0);
    expect(a.geometry.kernelAlignment).toBeLessThan(1);
    // The density is stored in the run's analysis.json (the summary leaves it out).
    const stored = JSON.parse(readFileSync(join(run, 'analysis.json'), 'utf8'));
    expect(stored.hessian.density.grid.length).toBe(stored.hessian.density.density.length);
  });

  it.each([
    [['--params', 'rec/*'], /--params rec\/\* matches no trainable parameter; the model has: l0\/W, l0\/b, l1\/W, l1\/b/],
    [['--hessian', 'top-k=200', '--params', 'l1/b'], /--hessian top-k=200: k is larger than the number of parameters analysed \(10\)/],
    [['--points', '0'], /--points must be a positive integer, got "0"/],
    [['--hessian', 'top-k=2,curvature'], /^biocredit: error: --hessian has an unknown measure "curvature"; expected a comma list of top-k=K, trace, density, got "top-k=2,curvature"$/],
    [['--split', 'val'], /--split must be one of train, test, got "val"/],
  ])('bad input %j: one clear line, non-zero exit', (extra, pattern) => {
    oneLineError(runCli(['analyze', run, ...extra, '--quiet']), pattern);
  });

  it('a directory without a checkpoint, and one that is not a run, get one clear line', () => {
    rmSync(join(run, 'checkpoint'), { recursive: true, force: true });
    rmSync(join(run, 'checkpoint.old'), { recursive: true, force: true });
    oneLineError(runCli(['analyze', run, '--quiet', '--force']), /no checkpoint to analyse/);
    oneLineError(runCli(['analyze', root, '--quiet']), /not a run directory \(no config\.json\) nor a compare directory \(no compare\.json\)/);
    oneLineError(runCli(['analyze', join(root, 'nope'), '--quiet']), /nope: directory not found/);
  });
});

describe('analyses during training and on a compare directory', () => {
  const out = join(tempDir(), 'cmp');

  it('records λ_max and the gap during training without changing the training', () => {
    const root = tempDir();
    const plain = join(root, 'plain');
    const hooked = join(root, 'hooked');
    expect(runCli(['train', ...small, '--out', plain]).code).toBe(0);
    const r = runCli(['train', ...small, '--analyze-every', '20', '--analyze', 'hessian,gap', '--analyze-points', '100', '--out', hooked]);
    expect(r.code, r.stderr).toBe(0);
    const records = metrics(hooked).filter((m) => m['type'] === 'analysis');
    expect(records.map((m) => m['step'])).toEqual([0, 20, 40, 60]);
    for (const m of records) {
      expect(m['lambdaMax']).toBeGreaterThan(0);
      expect(m['lossGap']).toBeCloseTo((m['testLoss'] as number) - (m['trainLoss'] as number), 10);
    }
    oneLineError(runCli(['train', ...small, '--analyze', 'hessian,foo']), /--analyze lists unknown analysis "foo"; during training: hessian, gap, sharpness, input-jacobian, margin/);
    oneLineError(runCli(['train', ...small, '--analyze', 'geometry']), /--analyze lists geometry, which runs after training only \(biocredit analyze RUN --geometry\)/);
    const evals = (d: string) => metrics(d).filter((m) => m['type'] === 'eval').map((m) => ({ ...m, wallSec: 0, examplesPerSec: 0 }));
    expect(evals(hooked)).toEqual(evals(plain));
  });

  it('compare recording analyses during training, then analyze: one row per rule, analysis.json and the page with λ_max over training', () => {
    const c = runCli(['compare', ...small, '--rules', 'bp,fa', '--seeds', '2', '--analyze-every', '30', '--analyze-points', '100', '--out', out]);
    expect(c.code, c.stderr).toBe(0);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('Top Hessian eigenvalue over training');
    const r = runCli(['analyze', out, '--points', '200', '--probes', '9', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^rule\s+runs\s+λ_max\s+trace\s+loss gap\s+acc gap \(pts\)/);
    expect(lines[1]).toMatch(/^bp\s+2\s+\d+\.\d+ ± \d+\.\d+/);
    expect(lines[2]).toMatch(/^fa\s+2\s+\d+\.\d+ ± \d+\.\d+/);
    const j = JSON.parse(readFileSync(join(out, 'analysis.json'), 'utf8'));
    expect(j.groups.bp.lambdaMax.n).toBe(2);
    expect(j.groups.fa.trace.n).toBe(2);
    const html = readFileSync(join(out, 'analysis.html'), 'utf8');
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(3);
    expect(html).toContain('Top Hessian eigenvalue over training');
    expect(existsSync(join(out, 'bp-s1', 'analysis.json'))).toBe(true);
  });
});

describe('biocredit analyze --implicit-bias', () => {
  const root = tempDir();
  const gln = ['--dataset', 'mnist-mini', '--binary', '0-4:5-9', '--pixels', '-1..1', '--bias-input', '--train-size', '300', '--model', 'gln', '--gates', '1'];
  const sgd = ['--optimizer', 'sgd', '--lr', '0.04', '--batch-size', '64', '--steps', '300', '--eval-every', '150', '--quiet'];

  it('a two-layer GLN: group-norm and L2 predictors fit the training set, with their gaps, errors and inconsistency; --analyze margin records γ over training', () => {
    const run = join(root, 'deep');
    const t = runCli(['train', ...gln, '--hidden', '8', ...sgd, '--analyze', 'margin', '--analyze-every', '50', '--analyze-points', '300', '--out', run]);
    expect(t.code, t.stderr).toBe(0);
    const hooks = metrics(run).filter((m) => m['type'] === 'analysis');
    expect(hooks.map((m) => m['step'])).toEqual([0, 50, 100, 150, 200, 250, 300]);
    const r = runCli(['analyze', run, '--implicit-bias', '--no-gap', '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const ib = JSON.parse(r.stdout).runs[0].implicitBias;
    expect(ib.kind).toBe('deep');
    expect([ib.trainPoints, ib.testPoints, ib.units, ib.contexts]).toEqual([300, 2000, 8, 2]);
    for (const p of [ib.maxMargin, ib.l2]) {
      expect(p.separable).toBe(true);
      expect(p.trainError).toBe(0);
      expect((p.objective - p.lowerBound) / p.objective).toBeLessThan(2e-3);
      expect(p.testError).toBeGreaterThan(0);
      expect(p.testError).toBeLessThan(0.5);
      expect(p.inconsistency).toBeGreaterThanOrEqual(Math.abs(p.testError - ib.gd.testError) - 1e-12);
    }
    // The group-norm optimum has the larger normalized margin (it is the max over that very measure).
    expect(ib.maxMargin.normalizedMargin).toBeGreaterThanOrEqual(ib.l2.normalizedMargin * (1 - 2e-3));
    expect(ib.marginHistory.at(-1).normMargin).toBeCloseTo(ib.gd.normalizedMargin, 3);
    expect(readFileSync(join(run, 'analysis.html'), 'utf8')).toContain('Normalized margin over training');
  });

  it('a shallow GLN gets one SVM per context; other models get one clear line', () => {
    const run = join(root, 'shallow');
    expect(runCli(['train', ...gln, '--hidden', '', '--gates', '2', ...sgd, '--out', run]).code).toBe(0);
    const ib = JSON.parse(runCli(['analyze', run, '--implicit-bias', '--no-gap', '--json', '--quiet']).stdout).runs[0].implicitBias;
    expect(ib.kind).toBe('shallow');
    expect(ib.contexts).toBe(4);
    expect(ib.l2).toBeUndefined();
    expect(ib.maxMargin.trainError).toBe(0);
    const mlp = join(root, 'mlp');
    expect(runCli(['train', ...small, '--out', mlp]).code).toBe(0);
    oneLineError(runCli(['analyze', mlp, '--implicit-bias', '--quiet']), /analysis implicit-bias needs gated contexts and homogeneity in its weights; model mlp does not provide them/);
  });
});

describe('--analyze margin', () => {
  it('is refused up front on a model that is not homogeneous in its weights', () => {
    oneLineError(runCli(['train', ...small, '--analyze', 'margin', '--analyze-every', '10']), /--analyze margin needs homogeneity in its weights; model mlp does not provide it/);
  });
});

describe('analyze --input-jacobian', () => {
  const root = tempDir();

  it('reports the input-Jacobian measures of every hidden layer and the output; a recurrent run gets one clear line', () => {
    const run = join(root, 'mlp');
    expect(runCli(['train', ...small, '--out', run]).code).toBe(0);
    const r = runCli(['analyze', run, '--input-jacobian', '--no-gap', '--points', '4', '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const ij = JSON.parse(r.stdout).runs[0].inputJacobian;
    expect(ij.points).toBe(4);
    expect(Object.keys(ij.layers)).toEqual(['l0', 'output']);
    // 16 hidden units, 10 outputs: at most that many singular values, the largest positive.
    expect(ij.layers.l0.rank).toBeLessThanOrEqual(16);
    expect(ij.layers.output.rank).toBeLessThanOrEqual(10);
    expect(ij.layers.output.sensitivity).toBeGreaterThan(0);
    expect(ij.layers.output.dimensionality).toBeGreaterThanOrEqual(1);
    const rnn = join(root, 'rnn');
    expect(runCli(['train', '--model', 'rnn', '--task', 'delayed-xor', '--rule', 'bptt', '--units', '8', '--steps', '4', '--trials', '32', '--batch-size', '16', '--quiet', '--out', rnn]).code).toBe(0);
    oneLineError(runCli(['analyze', rnn, '--input-jacobian', '--quiet']), /analysis input-jacobian needs .*layers.*; model rnn does not provide them/);
  });
});

describe('analyze --rich-lazy', () => {
  const root = tempDir();

  it('reports ‖ΔJ‖, the alignments and sign similarity of a recurrent run; a feedforward run or one without init/ gets one clear line', () => {
    const rnn = join(root, 'rnn');
    expect(runCli(['train', '--model', 'rnn', '--task', 'context-decision', '--dt', '100', '--tau', '100', '--units', '10', '--no-bias', '--init-rank', '2', '--rule', 'bptt', '--steps', '6', '--trials', '32', '--test-trials', '12', '--batch-size', '8', '--quiet', '--out', rnn]).code).toBe(0);
    const r = runCli(['analyze', rnn, '--rich-lazy', '--no-gap', '--probe-trials', '10', '--kernel-trials', '3', '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const rl = JSON.parse(r.stdout).runs[0].richLazy;
    // 15 steps of one output per trial (stimulus 750, delay 600, decision 100 ms at dt 100).
    expect(rl).toMatchObject({ split: 'test', probeTrials: 10, kernelTrials: 3, kernelOutputs: 45, weight: 'rnn/J' });
    expect(rl.weightChange).toBeGreaterThan(0);
    for (const k of ['representationAlignment', 'kernelAlignment', 'signSimilarity']) {
      expect(rl[k]).toBeGreaterThan(0);
      expect(rl[k]).toBeLessThanOrEqual(1 + 1e-9);
    }
    oneLineError(runCli(['analyze', rnn, '--rich-lazy', '--probe-split', 'val', '--quiet']), /--probe-split/);
    rmSync(join(rnn, 'init'), { recursive: true });
    oneLineError(runCli(['analyze', rnn, '--rich-lazy', '--no-gap', '--quiet']), /analysis rich-lazy compares with the step-0 parameters; .* has none saved/);
    const mlp = join(root, 'mlp');
    expect(runCli(['train', ...small, '--out', mlp]).code).toBe(0);
    oneLineError(runCli(['analyze', mlp, '--rich-lazy', '--quiet']), /analysis rich-lazy needs .*recurrent.*; model mlp does not provide/);
  });
});
