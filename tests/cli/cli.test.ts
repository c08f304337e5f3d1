/** The CLI as a new user meets it: errors are one line with a non-zero exit, never a stack trace. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { interruptedTrain, runCli, spawnCli, tempDir, timeless } from '../helpers.js';
import { nativeStatus } from '../../src/native-kernels.js';
import { outOfMemoryAdvice } from '../../src/cli/main.js';

function expectOneLineError(r: { code: number; stdout: string; stderr: string }, pattern: RegExp) {
  expect(r.code).not.toBe(0);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

const quick = ['--dataset', 'mnist-mini', '--hidden', '32', '--quiet'];

describe('biocredit CLI errors', () => {
  it.each([
    [['--rule', 'nope'], /unknown rule "nope"; known rules: .*bp/],
    [['--model', 'nope'], /unknown model "nope"; known models: .*mlp/],
    [['--dataset', 'nope'], /unknown dataset "nope"; known datasets: .*mnist, mnist-mini/],
    [['--lr', 'abc'], /--lr must be a positive number, got "abc"/],
    [['--lr', '-1'], /--lr must be a positive number, got "-1"/],
    [['--epochs', '0'], /--epochs must be a positive integer, got "0"/],
    [['--epochs', '2', '--steps', '5'], /give --epochs or --steps, not both/],
    [['--hidden', '12,a'], /--hidden must be a comma-separated list of positive integers/],
    [['--optimizer', 'lbfgs'], /--optimizer must be one of sgd, momentum, adam, rmsprop, got "lbfgs"/],
    [['--dataset', 'fashion-mnist'], /dataset fashion-mnist needs --data-dir DIR/],
    [['--data-dir', '/no/such/dir'], /--data-dir \/no\/such\/dir: directory not found/],
    [['--dataset', 'mnist-mini', '--data-dir', '/tmp'], /--data-dir does not apply to dataset mnist-mini/],
    [['--bogus'], /unknown option '--bogus'/],
    [['--final-train-eval', '-5'], /--final-train-eval must be an integer ≥ 0, got "-5"/],
  ])('train %j', (args, pattern) => {
    expectOneLineError(runCli(['train', ...args, '--quiet']), pattern);
  });

  it.each([
    [['--dataset', 'mnist-mini', '--rule', 'eprop'], /^biocredit: error: rule eprop needs a recurrent step and rate dynamics; model mlp does not provide them$/],
    [['--rule', 'fa', '--model', 'rnn', '--task', 'delayed-xor'], /^biocredit: error: rule fa needs weighted layers routed through layer ops; model rnn does not provide them$/],
    [['--dataset', 'mnist-mini', '--rule', 'gevb', '--model', 'convnet'], /^biocredit: error: rule gevb needs vectorized units; model convnet does not provide them$/],
  ])('a rule the model cannot serve, %j: one line naming both, exit 2', (args, pattern) => {
    const r = runCli(['train', ...args, '--steps', '1', '--quiet']);
    expect(r.code).toBe(2);
    expectOneLineError(r, pattern);
  });

  it('rejects a corrupt IDX file by name', () => {
    const dir = tempDir('corrupt-idx-');
    for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
      writeFileSync(join(dir, f), Buffer.from([0, 0, 8, 1, 0, 0, 0, 9, 1, 2]));
    }
    expectOneLineError(runCli(['train', '--data-dir', dir, '--quiet']), /train-images-idx3-ubyte: truncated: dims 9 of ubyte need 17 bytes, the file has 10/);
  });

  it('rejects --resume on a directory that is not a run', () => {
    expectOneLineError(runCli(['train', '--resume', tempDir()]), /not a biocredit run directory \(no config.json\)/);
    expectOneLineError(runCli(['train', '--resume', '/no/such/run']), /\/no\/such\/run: directory not found/);
  });

  it('rejects flags that a resumed run cannot change', () => {
    expectOneLineError(runCli(['train', '--resume', tempDir(), '--lr', '0.1']), /--lr cannot be given with --resume/);
  });

  it('out of memory: analyze names the size of the analysis, train and compare the batch sizes and --resume', () => {
    expect(outOfMemoryAdvice('analyze')).toMatch(/^analyse fewer examples \(--points; --probe-trials and --kernel-trials for --rich-lazy\)/);
    for (const command of ['train', 'compare']) expect(outOfMemoryAdvice(command)).toMatch(/--batch-size or --eval-batch-size .* --resume$/);
  });

  it('rejects a bad --backend and a bad BIOCREDIT_BACKEND', () => {
    expect(runCli(['train', '--backend', 'gpu']).code).not.toBe(0);
    expectOneLineError(runCli(['info'], { BIOCREDIT_BACKEND: 'gpu' }), /BIOCREDIT_BACKEND must be one of auto, node, wasm, cpu, got "gpu"/);
  });
});

describe('biocredit CLI commands', () => {
  it('lists every registry with descriptions and references', () => {
    const r = runCli(['list']);
    expect(r.code).toBe(0);
    for (const s of ['rules', 'models', 'datasets', 'tasks', 'bp', 'Rumelhart', 'mlp', 'mnist-mini', 'fashion-mnist']) expect(r.stdout).toContain(s);
    const j = JSON.parse(runCli(['list', '--json']).stdout);
    expect(j.rules.map((e: { name: string }) => e.name)).toContain('bp');
  });

  it('prints versions, backend and cores', () => {
    const j = JSON.parse(runCli(['info', '--json', '--backend', 'cpu']).stdout);
    expect(j.active.backend).toBe('cpu');
    expect(j.cores).toBeGreaterThan(0);
    expect(j.tfjs).toMatch(/^4\./);
    const wasm = JSON.parse(runCli(['info', '--json'], { BIOCREDIT_BACKEND: 'wasm' }).stdout);
    expect(wasm.active).toMatchObject({ backend: 'wasm', simd: true });
  });

  it('documents every flag group in --help', () => {
    const r = runCli(['train', '--help']);
    expect(r.code).toBe(0);
    for (const s of ['Run:', 'Optimization:', 'Schedule:', 'Dataset options:', 'Model options:', '--hidden', '--data-dir', '--resume', '--weight-decay']) {
      expect(r.stdout).toContain(s);
    }
  });

  it('--rule X --help shows rule X, its paper, and only its options in its own words', () => {
    const flat = (args: string[]) => runCli(args).stdout.replace(/\s+/g, ' ');
    const eprop = flat(['train', '--rule', 'eprop', '--help']);
    expect(eprop).toContain('rule eprop: e-prop: presynaptic eligibility traces');
    expect(eprop).toContain('(Bellec et al. 2020, Nat Commun)');
    expect(eprop).toContain('--feedback-scale <s> multiplies the std 1/√N of the random learning-signal weights B');
    expect(eprop).not.toContain('--dfa-conv');
    expect(eprop).not.toContain('--window');
    expect(flat(['train', '--rule', 'fa', '--help'])).toContain('--feedback-scale <s> multiplies the std of the random feedback weights (Xavier');
    // Without a chosen rule, a flag whose meaning differs between rules gives each meaning.
    const all = runCli(['train', '--help']).stdout.replace(/\s+/g, ' ');
    expect(all).toContain('--feedback-scale <s> fa, dfa, frsf, brsf: multiplies the std of the random feedback weights');
    expect(all).toContain('eprop, rflo: multiplies the std 1/√N of the random learning-signal weights B');
  });

  it('trains mnist-mini to ≥ 90% test accuracy in one epoch, with --json alone on stdout', () => {
    const out = join(tempDir(), 'run');
    const r = runCli(['train', '--dataset', 'mnist-mini', '--model', 'mlp', '--rule', 'bp', '--epochs', '1', '--json', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ status: 'finished', rule: 'bp', model: 'mlp', dataset: 'mnist-mini' });
    expect(s.final.test.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(['tensorflow', 'wasm', 'cpu']).toContain(s.backend);
    expect(r.stderr).toContain(`backend ${s.backend}`);
    // On wasm the summary says whether the native kernels ran (this process loads the same addon).
    if (s.backend === 'wasm') expect(s.native).toBe(nativeStatus());
    else expect(s.native).toBeUndefined();
    // The step-0 evaluation comes before any timed step: its speed is shown as —, never NaN.
    expect(r.stderr).toMatch(/step 0 .*— ex\/s/);
    expect(r.stderr).not.toMatch(/NaN/);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).backend).toBe(s.backend);
  });

  it('--final-train-eval n evaluates the first n training examples at the end, and says how many', () => {
    const r = runCli(['train', '--dataset', 'mnist-mini', '--model', 'mlp', '--hidden', '16', '--steps', '5', '--final-train-eval', '300', '--json', '--out', join(tempDir(), 'run')]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.final.train.n).toBe(300);
    expect(s.final.test.n).toBeGreaterThan(300);
    const full = JSON.parse(runCli(['train', '--dataset', 'mnist-mini', '--model', 'mlp', '--hidden', '16', '--steps', '5', '--json', '--out', join(tempDir(), 'run')]).stdout);
    expect(full.final.train.n).toBeGreaterThan(300);
    const t = runCli(['train', '--dataset', 'mnist-mini', '--model', 'mlp', '--hidden', '16', '--steps', '5', '--final-train-eval', '300', '--out', join(tempDir(), 'run')]);
    expect(t.stdout + t.stderr).toMatch(/train\s+\S+\s+\S+%\s+300\s/);
  });

  it('a run killed with SIGKILL resumes to exactly the numbers of an uninterrupted run', async () => {
    const root = tempDir();
    const args = [...quick, '--steps', '1000', '--checkpoint-every', '40', '--eval-every', '250', '--log-every', '20', '--seed', '5'];
    const killed = join(root, 'killed');
    const child = spawnCli(['train', ...args, '--out', killed]);
    const state = join(killed, 'checkpoint', 'state.json');
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        try {
          if (existsSync(state) && JSON.parse(readFileSync(state, 'utf8')).step >= 120) {
            clearInterval(timer);
            child.kill('SIGKILL');
            resolve();
          }
        } catch {
          // state.json is replaced atomically, but the directory swap can race a read; poll again.
        }
      }, 10);
      child.on('exit', () => {
        clearInterval(timer);
        resolve();
      });
      child.on('error', reject);
    });
    await new Promise((r) => child.on('close', r));
    expect(child.signalCode).toBe('SIGKILL');
    expect(existsSync(join(killed, 'summary.json'))).toBe(false);
    const resumed = runCli(['train', '--resume', killed, '--json', '--quiet']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const straight = join(root, 'straight');
    const whole = runCli(['train', ...args, '--out', straight, '--json']);
    expect(whole.code, whole.stderr).toBe(0);
    const a = JSON.parse(resumed.stdout);
    const b = JSON.parse(whole.stdout);
    expect(a.final).toEqual(b.final);
    expect(a.best).toEqual(b.best);
    const read = (d: string) =>
      readFileSync(join(d, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
    expect(timeless(read(killed))).toEqual(timeless(read(straight)));
  });

  it('Ctrl-C saves a checkpoint, says how to resume, and exits 130', async () => {
    const dir = join(tempDir(), 'run');
    const { code, stderr } = await interruptedTrain([...quick, '--steps', '100000'], dir);
    const state = join(dir, 'checkpoint', 'state.json');
    expect(code).toBe(130);
    expect(stderr).toMatch(/continue with: biocredit train --resume /);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(summary.status).toBe('interrupted');
    expect(JSON.parse(readFileSync(state, 'utf8')).step).toBe(summary.steps);
  });
});
