/**
 * FORCE and full-FORCE against their recursions written out by hand in double
 * precision on a small network: the student's dynamics, the teacher's exact
 * integration, the a-priori errors, one P shared by J and the readout, and two
 * trials in a row carrying P and the weights. Then what the core gives them:
 * exact resume (P and the teacher are checkpointed), signs kept under Dale's
 * law, and one-line refusals.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRnn, rnnOptions } from '../../models/rnn.js';
import { force } from '../../rules/force.js';
import { fullForce } from '../../rules/full-force.js';
import { readParamsDir } from '../../src/checkpoint.js';
import { lossFor } from '../../src/losses.js';
import { optionDefaults, resolveOptions } from '../../src/options.js';
import { Rng } from '../../src/rng.js';
import { resume, train } from '../../src/trainer.js';
import type { RuleEntry } from '../../src/types.js';
import { bruteForceSigned } from '../exact.js';
import { oneLineError, runCli, tempDir, timeless } from '../helpers.js';
import { expectClose, randomTrial } from './temporal-helpers.js';

const [B, T, N, I, O] = [2, 12, 6, 1, 1];
const dtMs = 25;
const tauMs = 100;

type M = number[][];
const matMul = (a: M, b: M): M => a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const add = (a: M, b: M): M => a.map((row, i) => row.map((v, j) => v + b[i]![j]!));
const scale = (a: M, s: number): M => a.map((row) => row.map((v) => v * s));
const tanh = (a: M): M => a.map((row) => row.map(Math.tanh));
const T_ = (a: M): M => a[0]!.map((_, j) => a.map((row) => row[j]!));
const row = (v: number[]): M => [v];
const identity = (n: number): M => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));

/** One RLS step in double precision: returns the new P and the gain c·P rᵀ [N, 1]. */
function rls(P: M, r: M): { P: M; gain: M } {
  const k = matMul(P, T_(r));
  const c = 1 / (1 + matMul(r, k)[0]![0]!);
  const gain = scale(k, c);
  return { P: add(P, scale(matMul(gain, T_(k)), -1)), gain };
}

function setup(outputFeedback: number, dale = 0) {
  const model = createRnn(
    { ...optionDefaults(rnnOptions), units: N, tau: tauMs, activation: 'tanh', gain: 1.2, outputFeedback, readoutScale: 1, dale },
    { inputShape: [T, I], outputSize: O, dtMs, hints: 1 },
  );
  const params = model.init(new Rng('ls-setup'));
  const { u, y, batch } = randomTrial('ls-data', [B, T, I, O]);
  // Every step counts (the helper's mask drops some; the rules skip those, tested by the contract table).
  batch.mask!.dispose();
  batch.mask = tf.ones([B, T]);
  const hints = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => [Math.sin(0.3 * t + b)]));
  batch.hints = tf.tensor3d(hints);
  const p = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, (v.rank === 1 ? [v.arraySync()] : v.arraySync()) as M]));
  return { model, params, batch, u, y, hints, p };
}

function run(entry: RuleEntry, options: Record<string, unknown>, s: ReturnType<typeof setup>) {
  const rule = entry.create(resolveOptions(`rule ${entry.name}`, entry.options ?? [], options));
  const state = rule.init(s.model, s.params, new Rng('ls-rule'), { inputShape: [T, I], outputSize: O, dtMs, hints: 1 });
  const out = rule.step({ model: s.model, params: s.params, batch: s.batch, loss: lossFor('mse'), state, step: 0, rng: new Rng('ls-times') });
  const flat = (t: tf.Tensor) => Array.from(t.dataSync());
  return { out, state: Object.fromEntries(Object.entries(state.tensors).map(([k, v]) => [k, v.arraySync() as M])), flat };
}

describe('FORCE, by hand', () => {
  it.each([false, true])('readout (and with --force-internal %s, J) after two trials of updates at every step', (internal) => {
    const s = setup(1);
    const { out, flat } = run(force, { updateEvery: 1, internal }, s);
    const alpha = dtMs / tauMs;
    let [P, W, J]: [M, M, M] = [identity(N), s.p['rnn/Wout']!, s.p['rnn/J']!];
    for (let b = 0; b < B; b++) {
      let x = row(new Array(N).fill(0));
      let z = row(new Array(O).fill(0));
      for (let t = 0; t < T; t++) {
        const drive = [matMul(tanh(x), J.map((r, i) => r.map((v, j) => v * s.p['rnn/mask']![i]![j]!))), matMul(row(s.u[b]![t]!), s.p['rnn/Win']!), matMul(z, s.p['rnn/Wfb']!), s.p['rnn/b']!].reduce(add);
        x = add(scale(x, 1 - alpha), scale(drive, alpha));
        const r = tanh(x);
        z = add(matMul(r, W), s.p['rnn/bout']!);
        const e = add(z, scale(row(s.y[b]![t]!), -1));
        const step = rls(P, r);
        const dW = scale(matMul(step.gain, e), -1);
        P = step.P;
        W = add(W, dW);
        if (internal) J = add(J, matMul(dW, row(new Array(N).fill(1))));
      }
    }
    expectClose(flat(tf.add(s.params['rnn/Wout']!, out.updates['rnn/Wout']!)), W.flat(), 1e-4);
    expect('rnn/J' in out.updates).toBe(internal);
    if (internal) expectClose(flat(tf.add(s.params['rnn/J']!, out.updates['rnn/J']!)), J.flat(), 1e-4);
    expectClose(flat(out.state!.tensors['P']!), P.flat(), 1e-4);
  });
});

/**
 * One full-FORCE trial by hand: the student with the current J (read at every
 * step), the teacher integrated with factor αD; `sample` sees the student's rate
 * r, the teacher's target for J (r^D J^D + feed) and y at every step.
 */
function fullForceTrial(s: ReturnType<typeof setup>, b: number, teacher: Record<string, M>, alphaD: number, J: () => M, sample: (r: M, targetJ: M, y: M) => void): void {
  const alpha = dtMs / tauMs;
  let x = row(new Array(N).fill(0));
  let xD = row(new Array(N).fill(0));
  for (let t = 0; t < T; t++) {
    const u = row(s.u[b]![t]!);
    const y = row(s.y[b]![t]!);
    const feed = add(matMul(y, teacher['uOut']!), matMul(row(s.hints[b]![t]!), teacher['uHint']!));
    const drive = [matMul(tanh(x), J()), matMul(u, s.p['rnn/Win']!), s.p['rnn/b']!].reduce(add);
    x = add(scale(x, 1 - alpha), scale(drive, alpha));
    const driveD = [matMul(tanh(xD), teacher['JD']!), feed, matMul(u, s.p['rnn/Win']!), s.p['rnn/b']!].reduce(add);
    xD = add(scale(xD, 1 - alphaD), scale(driveD, alphaD));
    sample(tanh(x), add(matMul(tanh(xD), teacher['JD']!), feed), y);
  }
}

describe('full-FORCE, by hand', () => {
  it.each(['exact', 'euler'] as const)('J and the readout, one P, the teacher integrated %s, with hints, over two trials', (teacherIntegration) => {
    const s = setup(0);
    const { out, state, flat } = run(fullForce, { updateEvery: 1, updateTimes: 'fixed', teacherIntegration }, s);
    const alpha = dtMs / tauMs;
    const alphaD = teacherIntegration === 'exact' ? 1 - Math.exp(-alpha) : alpha;
    let [P, W, J]: [M, M, M] = [identity(N), s.p['rnn/Wout']!, s.p['rnn/J']!];
    for (let b = 0; b < B; b++) {
      fullForceTrial(s, b, state, alphaD, () => J, (r, targetJ, y) => {
        const eJ = add(matMul(r, J), scale(targetJ, -1));
        const eW = add(add(matMul(r, W), s.p['rnn/bout']!), scale(y, -1));
        const step = rls(P, r);
        P = step.P;
        J = add(J, scale(matMul(step.gain, eJ), -1));
        W = add(W, scale(matMul(step.gain, eW), -1));
      });
    }
    expectClose(flat(tf.add(s.params['rnn/J']!, out.updates['rnn/J']!)), J.flat(), 1e-4);
    expectClose(flat(tf.add(s.params['rnn/Wout']!, out.updates['rnn/Wout']!)), W.flat(), 1e-4);
    expect(Object.keys(out.updates).sort()).toEqual(['rnn/J', 'rnn/Wout']);
    for (const k of ['priorError', 'errorRatio', 'teacherR2', 'recurrentNorm', 'readoutNorm']) expect(Number.isFinite(out.metrics![k]!.dataSync()[0]!), k).toBe(true);
  });
});

describe('full-FORCE under Dale’s law with --dale-solver nnls, by hand', () => {
  it('solves each trial’s sign-constrained least squares (brute force over supports) at the end of the trial', () => {
    const s = setup(0, 0.5);
    const { out, state, flat } = run(fullForce, { updateEvery: 1, updateTimes: 'fixed', daleSolver: 'nnls', solveEvery: 1000 }, s);
    const alphaD = 1 - Math.exp(-dtMs / tauMs);
    // The first half of the units is excitatory; no autapses; the readout reads E units only.
    const sign = (j: number) => (j < N / 2 ? 1 : -1);
    let [J, W]: [M, M] = [s.p['rnn/J']!, s.p['rnn/Wout']!];
    let G = identity(N);
    // Σ over steps of the unit means of the excitatory and inhibitory recurrent input.
    const inputs = [0, 0];
    let [BJ, BW]: [M, M] = [Array.from({ length: N }, () => new Array(N).fill(0)), Array.from({ length: N }, () => new Array(O).fill(0))];
    for (let b = 0; b < B; b++) {
      fullForceTrial(s, b, state, alphaD, () => J, (r, targetJ, y) => {
        [1, -1].forEach((kind, k) => (inputs[k]! += matMul(row(r[0]!.map((v, j) => (sign(j) === kind ? v : 0))), J)[0]!.reduce((a, v) => a + v, 0) / N));
        G = add(G, matMul(T_(r), r));
        BJ = add(BJ, matMul(T_(r), targetJ));
        BW = add(BW, matMul(T_(r), y));
      });
      // The end of the trial ends the window: every column solved over its allowed signs.
      const columns = (Bm: M, signs: (j: number, c: number) => number) =>
        T_(Bm[0]!.map((_, c) => bruteForceSigned(G, Bm.map((rowB) => rowB[c]!), Array.from({ length: N }, (_, j) => signs(j, c)))));
      J = columns(BJ, (j, c) => (j === c ? 0 : sign(j)));
      W = columns(BW, (j) => (sign(j) > 0 ? 1 : 0));
    }
    expectClose(flat(tf.add(s.params['rnn/J']!, out.updates['rnn/J']!)), J.flat(), 2e-3);
    expectClose(flat(tf.add(s.params['rnn/Wout']!, out.updates['rnn/Wout']!)), W.flat(), 2e-3);
    expectClose(flat(out.state!.tensors['G']!), G.flat(), 1e-4);
    expect(out.state!.tensors['P']).toBeUndefined();
    expect(out.metrics!['errorRatio']).toBeUndefined();
    expectClose([out.metrics!['excitatoryInput']!.dataSync()[0]!, out.metrics!['inhibitoryInput']!.dataSync()[0]!], inputs.map((v) => v / (B * T)), 1e-4);
  });
});

const small = ['--model', 'rnn', '--task', 'chirp', '--units', '24', '--dt', '5', '--duration-ms', '400', '--trials', '4', '--test-trials', '1', '--quiet'];

describe('through the core', () => {
  const read = (dir: string) =>
    readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));

  it.each([
    ['full-force', {}],
    ['force', { units: 24, outputFeedback: 1 }],
  ])('%s resumes exactly mid-training (P and the teacher are checkpointed)', async (rule, modelOptions) => {
    const spec = { task: 'chirp', datasetOptions: { dt: 5, durationMs: 400, trials: 4, testTrials: 1 }, model: 'rnn', modelOptions: { units: 24, ...modelOptions }, rule, steps: 6, evalEvery: 2, checkpointEvery: 3, logEvery: 1, diagEvery: 0, seed: 2 };
    const [straight, split] = [tempDir(), tempDir()];
    await train(spec, { out: straight });
    const controller = new AbortController();
    const cut = await train(spec, { out: split, signal: controller.signal, reporter: { progress: (p) => p.step === 4 && controller.abort() } });
    expect(cut.status).toBe('interrupted');
    await resume(split);
    expect(timeless(read(split))).toEqual(timeless(read(straight)));
    const [a, b] = [straight, split].map((d) => readParamsDir(join(d, 'checkpoint')).params);
    for (const k of Object.keys(a!)) expect(Array.from(b![k]!.dataSync()), k).toEqual(Array.from(a![k]!.dataSync()));
    expect(read(straight).find((r) => r.type === 'train').metrics.errorRatio).toBeGreaterThan(0);
  });

  it.each(['nnls', 'projected'])('keeps Dale signs in every checkpoint (--dale-solver %s)', async (daleSolver) => {
    const dir = tempDir();
    await train(
      { task: 'chirp', datasetOptions: { dt: 5, durationMs: 400, trials: 4, testTrials: 1 }, model: 'rnn', modelOptions: { units: 20, dale: 0.8 }, rule: 'full-force', ruleOptions: { daleSolver, solveEvery: 30 }, steps: 4, checkpointEvery: 2, seed: 1 },
      { out: dir },
    );
    const p = readParamsDir(join(dir, 'checkpoint')).params;
    const J = p['rnn/J']!.arraySync() as number[][];
    const nE = 16;
    J.forEach((r, j) => r.forEach((v) => expect(j < nE ? v >= 0 : v <= 0).toBe(true)));
    expect(J.flat().some((v) => v !== 0)).toBe(true);
    const Wout = p['rnn/Wout']!.arraySync() as number[][];
    Wout.forEach((r, j) => r.forEach((v) => expect(j < nE ? v >= 0 : v === 0).toBe(true)));
  });

  it('sets its papers’ defaults where the command does not, and records them', () => {
    const dir = join(tempDir(), 'run');
    const r = runCli(['train', ...small, '--rule', 'full-force', '--steps', '1', '--out', dir]);
    expect(r.code, r.stderr).toBe(0);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config.training).toMatchObject({ batchSize: 1, logEvery: 1, diagEvery: 0 });
    expect(config.optimizer).toBeNull();
    expect(config.model.options).toMatchObject({ units: 24, gain: 0, readoutScale: 0, activation: 'tanh', tau: 10 });
    expect(runCli(['train', '--rule', 'full-force', '--help']).stdout.replace(/\s+/g, ' ')).toContain('unless given, trains with --batch-size 1 --log-every 1 --diag-every 0 --units 300 --gain 0 --readout-scale 0 --activation tanh --tau 10');
  });

  it.each([
    [['--rule', 'full-force', '--model', 'mlp', '--dataset', 'mnist-mini'], 2, /^biocredit: error: rule full-force needs a recurrent step and rate dynamics; model mlp does not provide them$/],
    [[...small, '--rule', 'full-force', '--rls-alpha', '0'], 2, /^biocredit: error: --rls-alpha must be a positive number, got "0"$/],
    [[...small, '--rule', 'force', '--optimizer', 'adam'], 2, /^biocredit: error: --optimizer does not apply to rule force: it applies its own updates, with no optimizer$/],
    [[...small, '--rule', 'force', '--output-feedback', '0'], 2, /^biocredit: error: rule force needs output feedback into its recurrent step; model rnn does not provide it$/],
    [[...small, '--rule', 'full-force', '--output-feedback', '1'], 2, /^biocredit: error: rule full-force needs rate dynamics; model rnn does not provide them$/],
    [[...small, '--rule', 'full-force', '--hint', 'ramp'], 2, /^biocredit: error: --hint does not apply to task chirp \(it is an option of ready-set-go\)$/],
    [['--model', 'rnn', '--task', 'ready-set-go', '--rule', 'full-force', '--hint', 'ramp'], 2, /^biocredit: error: ready-set-go: --hint ramp belongs to --form bump \(full-FORCE's version\)$/],
    [[...small, '--rule', 'force', '--dale', '0.8', '--force-internal'], 2, /^biocredit: error: --force-internal changes J with every RLS step; under --dale use it with --dale-solver projected$/],
  ])('refuses %j in one line', (args, code, pattern) => {
    const out = join(tempDir(), 'never');
    const r = runCli(['train', ...args, '--steps', '1', '--out', out]);
    expect(r.code).toBe(code);
    oneLineError(r, pattern);
    expect(existsSync(out)).toBe(false);
  });
});

