/**
 * Terminal output and the help and docs that describe it: lines fitted to the
 * width (COLUMNS) with the test metric first, progress at a steady interval in a
 * log, `list` wrapped at the width, help texts that match what the commands
 * accept, README placeholders, and the conventions the README states, checked
 * against the code.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stat } from '../../src/compare.js';
import { resolveOptions } from '../../src/options.js';
import { Optimizer } from '../../src/optim.js';
import { ParamStore } from '../../src/params.js';
import { models } from '../../src/registries.js';
import { Rng } from '../../src/rng.js';
import type { Model } from '../../src/types.js';
import { MODEL_ROWS } from '../contracts/model-rows.js';
import { oneLineError, ROOT, runCli, spawnCli, tempDir } from '../helpers.js';

/** Width in columns as a terminal shows it (one per code point for this output). */
const columns = (line: string) => [...line].length;
const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');
const fields = (line: string) => line.split(' | ');
/** Timing fields differ between two runs of the same seed. */
const timing = (field: string) => /ex\/s$|^\d+(\.\d)?s$|^\d+m\d\ds$|^ETA /.test(field);

/** A short run: 40 steps of a small MLP on mnist-mini, evaluated every 20 steps with a validation split. */
const shortTrain = (dir: string) => ['train', '--dataset', 'mnist-mini', '--val', '500', '--hidden', '32', '--steps', '40', '--eval-every', '20', '--out', dir];

describe('training lines fit the terminal', () => {
  it('keeps whole lines in a log and, at 80 or 40 columns, drops whole fields after the test metric', () => {
    const log = runCli(shortTrain(join(tempDir(), 'log')), { COLUMNS: '' });
    expect(log.code, log.stderr).toBe(0);
    const full = lines(log.stderr).filter((l) => l.includes('test loss '));
    expect(full).toHaveLength(3);
    for (const l of full) {
      expect(l).toMatch(/^epoch \S+ \| step \d+ \| test loss \S+ acc \S+% \| val loss \S+ acc \S+% \| train loss \S+ acc \S+ \| \S+ ex\/s \| \S+$/);
    }
    expect(full.some((l) => columns(l) > 80)).toBe(true);

    for (const width of [80, 40]) {
      const r = runCli(shortTrain(join(tempDir(), `w${width}`)), { COLUMNS: String(width) });
      expect(r.code, r.stderr).toBe(0);
      const fitted = lines(r.stderr).filter((l) => l.includes('test loss '));
      expect(fitted).toHaveLength(full.length);
      fitted.forEach((l, i) => {
        expect(columns(l)).toBeLessThanOrEqual(width);
        expect(l).toMatch(/test loss \d\.\d{4} acc \d+\.\d\d%/);
        // Every field is one of the full line's, whole and in the same order (the numbers are the seed's; timings differ).
        const whole = fields(full[i]!).filter((f) => !timing(f));
        const kept = fields(l).filter((f) => !timing(f));
        expect(kept).toEqual(whole.filter((f) => kept.includes(f)));
      });
      if (width === 80) for (const l of fitted) expect(l).toMatch(/^epoch \S+ \| step \d+ \| test loss /);
      for (const l of lines(r.stderr).filter((x) => /^step \d+\//.test(x))) {
        expect(columns(l)).toBeLessThanOrEqual(width);
        expect(l).toMatch(/^step \d+\/40 \| .*ETA \S+$/);
      }
    }
  });

  it('prints progress in a pipe at a steady interval (BIOCREDIT_PROGRESS_SEC), not only at the end', async () => {
    const interval = 0.4;
    const child = spawnCli(['train', '--dataset', 'mnist-mini', '--epochs', '2', '--out', join(tempDir(), 'run')], { BIOCREDIT_PROGRESS_SEC: String(interval) });
    const t0 = performance.now();
    const arrivals: { line: string; sec: number }[] = [];
    let partial = '';
    child.stderr.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop()!;
      for (const line of parts) arrivals.push({ line, sec: (performance.now() - t0) / 1000 });
    });
    const code = await new Promise<number | null>((r) => child.on('close', r));
    const exitSec = (performance.now() - t0) / 1000;
    expect(code).toBe(0);
    const progress = arrivals.filter((a) => /^step \d+\/250 \| epoch \S+ \| loss \S+ \| acc \S+ \| \S+ ex\/s \| ETA \S+$/.test(a.line));
    expect(progress.length).toBeGreaterThanOrEqual(3);
    // One line per interval, not one per step, and spread over the run as it goes.
    const steps = progress.map((a) => Number(/^step (\d+)/.exec(a.line)![1]));
    expect(progress.length).toBeLessThan(steps.at(-1)! / 5);
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(exitSec / interval) + 2);
    expect(progress.at(-1)!.sec - progress[0]!.sec).toBeGreaterThan(interval);
    expect(exitSec - progress[0]!.sec).toBeGreaterThan(interval);
  });

  it('compare in a pipe reports each running run at the same interval', () => {
    const r = runCli(['compare', '--rules', 'bp', '--dataset', 'mnist-mini', '--hidden', '32', '--epochs', '1', '--out', join(tempDir(), 'cmp')], {
      BIOCREDIT_PROGRESS_SEC: '0.3',
    });
    expect(r.code, r.stderr).toBe(0);
    const log = lines(r.stderr);
    const started = log.indexOf('[bp-s0] started');
    const finished = log.indexOf('[bp-s0] finished');
    const progress = log.map((l, i) => ({ l, i })).filter(({ l }) => /^\[bp-s0\] step \d+\/125 \| epoch \S+ \| ETA \S+$/.test(l));
    expect(started).toBeGreaterThanOrEqual(0);
    expect(progress.length, r.stderr).toBeGreaterThanOrEqual(1);
    for (const { i } of progress) expect(i > started && i < finished).toBe(true);
    expect(log).toContainEqual(expect.stringMatching(/^\[bp-s0\] epoch 1\.00\/1\.00 \| test \d+\.\d\d%$/));
  });

  it('refuses a malformed BIOCREDIT_PROGRESS_SEC on one line before making the run directory', () => {
    const dir = join(tempDir(), 'run');
    const r = runCli(['train', '--dataset', 'mnist-mini', '--epochs', '1', '--out', dir], { BIOCREDIT_PROGRESS_SEC: 'soon' });
    oneLineError(r, /BIOCREDIT_PROGRESS_SEC must be a positive number, got "soon"/);
    expect(r.code).toBe(2);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('biocredit list', () => {
  const json = JSON.parse(runCli(['list', '--json']).stdout) as Record<string, { name: string; description: string; reference: string | null }[]>;
  const entries = Object.values(json).flat();

  it('prints one line per entry into a pipe', () => {
    const r = runCli(['list'], { COLUMNS: '' });
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out).toHaveLength(entries.length + Object.keys(json).length);
    for (const e of entries) {
      const line = out.find((l) => l.startsWith(`  ${e.name} `));
      expect(line).toContain(e.description);
      if (e.reference) expect(line).toContain(e.reference);
    }
  });

  it('wraps descriptions at COLUMNS, continuation lines under the description column', () => {
    const r = runCli(['list'], { COLUMNS: '60' });
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    for (const l of out) expect(columns(l)).toBeLessThanOrEqual(60);
    const normal = (s: string) => s.replace(/\s+/g, ' ').trim();
    for (const e of entries) {
      const first = out.findIndex((l) => l.startsWith(`  ${e.name} `));
      expect(first).toBeGreaterThanOrEqual(0);
      const column = out[first]!.length - out[first]!.slice(2 + e.name.length).trimStart().length;
      const rest: string[] = [];
      for (let i = first + 1; i < out.length && out[i]!.startsWith(' '.repeat(column)); i++) {
        expect(out[i]![column]).not.toBe(' ');
        rest.push(out[i]!);
      }
      const text = normal([out[first]!.slice(column), ...rest].join(' '));
      expect(text.startsWith(normal(e.description))).toBe(true);
      if (e.reference) expect(text.endsWith(normal(e.reference))).toBe(true);
    }
  });
});

describe('help and docs', () => {
  /** The help paragraph of `flag`, whitespace collapsed. */
  const helpOf = (help: string, flag: string) => {
    const start = help.indexOf(`  ${flag} `);
    expect(start, `${flag} in help`).toBeGreaterThanOrEqual(0);
    const after = help.slice(start + 2).split('\n');
    const para = [after[0]!, ...after.slice(1).filter((_, i, all) => all.slice(0, i + 1).every((l) => /^ {10,}\S/.test(l)))];
    return para.join(' ').replace(/\s+/g, ' ').trim();
  };

  it('analyze describes --backend as train and compare do, and accepts and refuses the same names', () => {
    const texts = ['train', 'compare', 'analyze'].map((c) => helpOf(runCli([c, '--help']).stdout, '--backend <name>'));
    expect(texts[0]).toMatch(/auto = tfjs-node, else wasm, else cpu; or BIOCREDIT_BACKEND\) \(choices: "auto", "node", "wasm", "cpu"\)$/);
    expect(texts[1]).toBe(texts[0]);
    expect(texts[2]).toBe(texts[0]);
    const empty = tempDir();
    for (const args of [['train', '--dataset', 'mnist-mini'], ['analyze', empty]]) {
      oneLineError(runCli([...args, '--backend', 'tensorflow']), /'--backend <name>' argument 'tensorflow' is invalid\. Allowed choices are auto, node, wasm, cpu/);
    }
    // A listed name is accepted: analyze gets as far as the directory.
    const r = runCli(['analyze', empty, '--backend', 'cpu']);
    oneLineError(r, /^biocredit: error: /);
    expect(r.stderr).not.toMatch(/backend/);
  });

  it('--feedback help gives each rule its own default', () => {
    for (const cmd of [['train', '--help'], ['compare', '--help'], ['compare', '--rules', 'eprop,rflo', '--help']]) {
      expect(helpOf(runCli(cmd).stdout, '--feedback <kind>')).toMatch(/\(default: symmetric for eprop; random for rflo\)$/);
    }
    expect(helpOf(runCli(['train', '--rule', 'rflo', '--help']).stdout, '--feedback <kind>')).toMatch(/symmetric \(W_outᵀ\) \(default: random\)$/);
    expect(helpOf(runCli(['train', '--rule', 'eprop', '--help']).stdout, '--feedback <kind>')).toMatch(/symmetric \(W_outᵀ\) \(default: symmetric\)$/);
  });

  it('compare --help says which seeds --seeds runs and which std the tables show', () => {
    expect(helpOf(runCli(['compare', '--help']).stdout, '--seeds <k>')).toMatch(/seeds 0 … k−1; the tables show mean ± std over them \(sample std, n − 1\)/);
  });

  it('README and help examples mark run-directory names as placeholders, and the README says how long npm test takes', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const helps = ['train', 'compare', 'analyze'].map((c) => runCli([c, '--help']).stdout);
    for (const text of [readme, ...helps]) {
      expect(text).not.toMatch(/runs\/\d{8}-\d{6}-/);
      expect(text).not.toMatch(/runs\/compare-[\w-]+-[0-9a-f]{8}\b/);
    }
    expect(readme).toMatch(/runs\/compare-mlp-mnist-<hash>/);
    expect(readme).toMatch(/runs\/<timestamp>-bp-mlp-mnist/);
    expect(readme).toMatch(/`npm test` rebuilds and runs the whole suite: about \d+ minutes on 2 cores/);
  });
});

describe('the conventions the README states', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ');
  const one: Model = {
    name: 'one',
    specs: { w: { shape: [1], role: 'weight' } },
    init: () => ({ w: tf.zeros([1]) }),
    forward: (p, x) => ({ output: tf.mul(x, p['w']!), trace: [] }),
  };
  /** The change of a parameter at 0 after one step of `name` on gradient g. */
  const firstStep = (name: 'adam' | 'rmsprop', g: number, lr = 0.01) => {
    const init = one.init(new Rng('x'));
    const store = new ParamStore(one, init);
    tf.dispose(Object.values(init));
    const opt = new Optimizer({ name, lr, momentum: 0, weightDecay: 0, clipNorm: 0 }, store);
    opt.apply({ w: tf.tensor1d([g]) });
    const w = store.values['w']!.dataSync()[0]!;
    opt.dispose();
    store.dispose();
    return w;
  };

  it('Adam ε = 1e-7: a first step on g = ε moves by lr/2 (PyTorch’s 1e-8 would give lr·10/11)', () => {
    expect(readme).toContain('Adam uses ε = 1e-7');
    expect(firstStep('adam', 1e-7)).toBeCloseTo(-0.005, 6);
  });

  it('RMSProp ρ = 0.9, ε inside the square root: a first step on g = 1 moves by lr/√(0.1 + ε)', () => {
    expect(readme).toContain('RMSProp ρ = 0.9 with ε = 1e-7 inside the square root');
    expect(firstStep('rmsprop', 1)).toBeCloseTo(-0.01 / Math.sqrt(0.1 + 1e-7), 5);
  });

  it('every model starts its biases at 0', async () => {
    expect(readme).toContain('biases start at 0');
    expect(readme.replace(/\s+/g, ' ')).toContain('whose bias currents are a physical baseline and start at `--bias-current`');
    for (const [name, rows] of Object.entries(MODEL_ROWS)) {
      const entry = models.get(name);
      const data = await rows[0]!.data();
      const model = entry.create(resolveOptions(`model ${name}`, entry.options ?? [], rows[0]!.options), {
        inputShape: data.inputShape,
        outputSize: data.outputSize,
        ...(data.dtMs !== undefined ? { dtMs: data.dtMs } : {}),
      });
      const params = model.init(new Rng(`bias/${name}`));
      for (const [p, spec] of Object.entries(model.specs)) {
        // Morris–Lecar bias currents start at --bias-current, as the README says.
        const start = name === 'morris-lecar' && p === 'ml/b' ? 80 : 0;
        if (spec.role === 'bias') expect(Array.from(params[p]!.dataSync()).every((v) => v === start), `${name} ${p}`).toBe(true);
      }
      tf.dispose(Object.values(params));
    }
  });

  it('std over seeds is the sample std (n − 1), 0 for one seed', () => {
    expect(readme).toContain('sample standard deviation (n − 1 in the denominator');
    expect(readme).toContain('`--seeds K` runs seeds 0, 1, …, K−1');
    expect(stat([1, 2, 3]).std).toBe(1);
    expect(stat([5]).std).toBe(0);
  });
});
