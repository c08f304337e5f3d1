/** Task RNNs end to end: compare on a task (metrics, trial plot), analyze --dynamics, sequential MNIST. */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lossFor } from '../../src/losses.js';
import type { Batch } from '../../src/types.js';
import { oneLineError, runCli, tempDir } from '../helpers.js';

const rnn = ['--model', 'rnn', '--units', '24', '--activation', 'tanh', '--quiet'];

describe('compare on tasks', () => {
  it('a regression task: normalized error in the table, results and report, with trial outputs against targets', () => {
    const out = join(tempDir(), 'cmp');
    const r = runCli(['compare', '--rules', 'bptt,rflo', '--task', 'pattern', '--trials', '32', '--test-trials', '4', ...rnn, '--steps', '20', '--eval-every', '10', '--batch-size', '8', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/test nmse/);
    const j = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    for (const rule of ['bptt', 'rflo']) {
      expect(j.groups[rule].testNmse.n).toBe(1);
      expect(j.groups[rule].testNmse.mean).toBeGreaterThan(0);
    }
    const summary = JSON.parse(readFileSync(join(out, 'bptt-s0', 'summary.json'), 'utf8'));
    // nmse = Σ(z − y)²/Σy² and the loss is ½·mean over the masked steps of (z − y)²; the target is a sine
    // sampled over two whole periods, so mean(y²) = ½ and nmse = 4·loss.
    expect(summary.final.test.nmse / (4 * summary.final.test.loss)).toBeCloseTo(1, 4);
    const csv = readFileSync(join(out, 'results.csv'), 'utf8').split('\n');
    expect(csv[0]).toContain('test_nmse');
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('Normalized test error');
    expect(html).toContain('Trial outputs against targets');
    expect(html).toContain('final normalized test error');
  });

  it('a decision task: accuracy, and the trial plot', () => {
    const out = join(tempDir(), 'cmp');
    const r = runCli(['compare', '--rules', 'bptt,eprop', '--task', 'delayed-comparison', '--trials', '32', '--test-trials', '8', ...rnn, '--steps', '8', '--eval-every', '4', '--batch-size', '8', '--delay-ms', '200', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/test acc %/);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('Test accuracy');
    expect(html).toContain('Trial outputs against targets');
  });

  it('refuses, before any run starts, a rule that cannot train the network (modprop without an E/I split)', () => {
    const out = join(tempDir(), 'cmp');
    const r = runCli(['compare', '--rules', 'bptt,modprop', '--task', 'pattern', ...rnn, '--steps', '2', '--out', out]);
    oneLineError(r, /rule modprop needs cell types: give the network an E\/I split \(--dale 0\.8\)/);
    expect(existsSync(join(out, 'bptt-s0'))).toBe(false);
  });
});

describe('analyze --dynamics', () => {
  it('reports the spectrum of J, a Lyapunov exponent and the activity participation ratio; refuses a feedforward run', () => {
    const dir = join(tempDir(), 'run');
    expect(runCli(['train', '--task', 'perceptual-decision', '--trials', '32', '--test-trials', '8', ...rnn, '--steps', '4', '--batch-size', '8', '--dale', '0.75', '--out', dir]).code).toBe(0);
    const r = runCli(['analyze', dir, '--dynamics', '--points', '8', '--lyapunov-steps', '400', '--no-gap', '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout).runs[0].dynamics;
    expect(d.eigenvalues).toHaveLength(24);
    // Dale initialisation is scaled to spectral radius g = 1; four steps move it only a little.
    expect(d.spectralRadius).toBeGreaterThan(0.8);
    expect(d.spectralRadius).toBeLessThan(1.2);
    expect(Number.isFinite(d.lyapunov.perSecond)).toBe(true);
    expect(d.participationRatio).toBeGreaterThanOrEqual(1);
    expect(readFileSync(join(dir, 'analysis.html'), 'utf8')).toContain('Eigenvalues of the recurrent matrix J');
    const mlp = join(tempDir(), 'mlp');
    expect(runCli(['train', '--dataset', 'mnist-mini', '--hidden', '8', '--steps', '2', '--quiet', '--out', mlp]).code).toBe(0);
    oneLineError(runCli(['analyze', mlp, '--dynamics', '--no-gap', '--quiet']), /analysis dynamics needs a recurrent step and rate dynamics; model mlp does not provide them/);
  });
});

describe('sequential MNIST', () => {
  it('sequence cross-entropy: value, gradient (against autodiff) and accuracy at the masked steps', () => {
    const loss = lossFor('sequence-ce');
    const z = tf.tensor3d([[[1, 2, 0], [0.5, -1, 3]], [[2, 0, 0], [0, 0, 1]]]);
    const y = tf.tensor3d([[[0, 0, 0], [0, 0, 1]], [[0, 0, 0], [1, 0, 0]]]);
    const batch: Batch = { x: tf.zeros([2, 2, 1]), y, mask: tf.tensor2d([[0, 1], [0, 1]]), size: 2 };
    const lse = (v: number[]) => Math.log(v.reduce((a, b) => a + Math.exp(b), 0));
    const want = (lse([0.5, -1, 3]) - 3 + (lse([0, 0, 1]) - 0)) / 2;
    expect(loss.value(z, batch).dataSync()[0]).toBeCloseTo(want, 5);
    const auto = tf.grad((o: tf.Tensor) => loss.value(o, batch))(z);
    Array.from(loss.outputGrad(z, batch).dataSync()).forEach((v, i) => expect(v).toBeCloseTo(auto.dataSync()[i]!, 6));
    // Example 0 predicts class 2 (correct), example 1 class 2 (wrong: class 0).
    expect(loss.correct(z, batch).dataSync()[0]).toBe(1);
  });

  it('trains with bptt from the CLI, and its Hessian is symmetric', () => {
    const dir = join(tempDir(), 'run');
    const t = runCli(['train', '--task', 'seq-mnist', '--source', 'mnist-mini', '--model', 'rnn', '--units', '32', '--activation', 'relu', '--rule', 'bptt', '--steps', '30', '--batch-size', '64', '--lr', '3e-3', '--eval-batch-size', '2000', '--json', '--quiet', '--out', dir]);
    expect(t.code, t.stderr).toBe(0);
    const s = JSON.parse(t.stdout);
    expect(s.final.test.n).toBe(2000);
    expect(s.final.test.accuracy).toBeGreaterThan(0.2);
    const a = runCli(['analyze', dir, '--params', 'rnn/J', '--points', '64', '--no-gap', '--json', '--quiet']);
    expect(a.code, a.stderr).toBe(0);
    const h = JSON.parse(a.stdout).runs[0].hessian;
    expect(h.hvpCheck).toBeLessThan(1e-4);
    expect(h.topK.values[0]).toBeGreaterThan(0);
  });
});
