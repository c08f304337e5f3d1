/**
 * Results a user can trust: analyze only what finished, analyses accumulate,
 * one process per run or compare directory, diverged runs flagged, regression
 * runs judged by their own metric, and bad inputs refused in one line before
 * any directory is made.
 */
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { interruptedTrain, oneLineError, runCli, spawnCli, tempDir } from '../helpers.js';

const small = ['--dataset', 'mnist-mini', '--hidden', '16', '--quiet'];
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const records = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; step: number });

describe('analyze: only finished runs, unless asked', () => {
  const out = join(tempDir(), 'cmp');

  it('leaves an unfinished run of a comparison out of the means and says so; --include-unfinished marks it', () => {
    expect(runCli(['compare', ...small, '--rules', 'bp,fa', '--steps', '20', '--seeds', '1', '--out', out]).code).toBe(0);
    // fa-s0 as a run interrupted before its end would leave it.
    const summary = join(out, 'fa-s0', 'summary.json');
    writeFileSync(summary, JSON.stringify({ ...json(summary), status: 'interrupted' }));
    const r = runCli(['analyze', out, '--points', '100', '--probes', '4', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^bp\s+1\s/m);
    expect(r.stdout).toMatch(/^fa\s+0\s/m);
    expect(r.stdout).toContain('analysed the checkpoint at step 20');
    expect(r.stdout).toContain('skipped: fa-s0 (was interrupted at step 20 of 20; --include-unfinished analyses it as it is)');
    const all = runCli(['analyze', out, '--points', '100', '--probes', '4', '--include-unfinished', '--quiet']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/^fa\s+1 \(1 unfinished\)\s/m);
    expect(all.stdout).toContain('unfinished, as they are: fa-s0 (step 20)');
    expect(json(join(out, 'fa-s0', 'analysis.json')).finished).toBe(false);
  });

  it('refuses a single unfinished run in one line, naming its step', async () => {
    const dir = join(tempDir(), 'run');
    expect((await interruptedTrain([...small, '--steps', '100000', '--eval-every', '5'], dir)).code).toBe(130);
    const step = json(join(dir, 'checkpoint', 'state.json')).step;
    const r = runCli(['analyze', dir, '--quiet']);
    expect(r.code).toBe(1);
    oneLineError(r, new RegExp(`the run was interrupted at step ${step} of 100000; --include-unfinished analyses it as it is$`));
  });
});

describe('analyses accumulate', () => {
  it('a second analyze with other options keeps the first one’s results, computing only what changed', () => {
    const dir = join(tempDir(), 'run');
    expect(runCli(['train', ...small, '--steps', '20', '--out', dir]).code).toBe(0);
    expect(runCli(['analyze', dir, '--points', '100', '--probes', '4', '--sharpness', '--hessian', 'top-k=1,trace', '--quiet']).code).toBe(0);
    const first = json(join(dir, 'analysis.json'));
    const r = runCli(['analyze', dir, '--points', '100', '--hessian', 'top-k=2', '--no-gap']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('gap, sharpness: kept from analysis.json (computed earlier, step 20)');
    expect(r.stderr).not.toMatch(/\] (gap|sharpness)[ :]/);
    const both = json(join(dir, 'analysis.json'));
    expect(Object.keys(both.measures).sort()).toEqual(['gap', 'hessian', 'sharpness']);
    expect(both.sharpness).toEqual(first.sharpness);
    expect(both.gap).toEqual(first.gap);
    expect(both.hessian.topK.values).toHaveLength(2);
    expect(both.measures.hessian.options.hessian).toBe('top-k=2');
    // The table and the page show every stored result.
    expect(r.stdout).toMatch(/λ_max\s+loss gap\s+acc gap \(pts\)\s+ε-sharpness\s+SAM sharpness/);
    expect(readFileSync(join(dir, 'analysis.html'), 'utf8')).toContain('SAM sharpness');
  });
});

describe('one process per directory', () => {
  it('a second compare on the same directory gets one line naming the first; the first is not harmed; the command then completes without duplicate records', async () => {
    const out = join(tempDir(), 'busy');
    const args = ['compare', ...small, '--rules', 'bp,fa', '--steps', '300', '--eval-every', '50', '--seeds', '1', '--jobs', '2', '--out', out];
    const first = spawnCli(args);
    let started = '';
    first.stderr.on('data', (d) => (started += d));
    const firstDone = new Promise<number | null>((res) => first.on('close', (c) => res(c)));
    while (!existsSync(join(out, 'lock'))) await new Promise((res) => setTimeout(res, 20));
    const second = runCli(args);
    expect(second.code).toBe(1);
    oneLineError(second, new RegExp(`^biocredit: error: ${out} is in use by pid ${first.pid} on ${hostname()} \\(since .*\\); if that process is gone, delete ${out}/lock$`));
    expect(await firstDone).toBe(0);
    expect(existsSync(join(out, 'lock'))).toBe(false);
    const again = runCli(args);
    expect(again.code, again.stderr).toBe(0);
    for (const run of ['bp-s0', 'fa-s0']) {
      const evals = records(join(out, run)).filter((r) => r.type === 'eval').map((r) => r.step);
      expect(evals).toEqual([...new Set(evals)].sort((a, b) => a - b));
      expect(evals).toEqual(expect.arrayContaining([0, 50, 100, 150, 200, 250, 300]));
    }
  });

  it('takes over the lock of a process that died, and refuses one held on another host', () => {
    const dir = join(tempDir(), 'run');
    expect(runCli(['train', ...small, '--steps', '4', '--out', dir]).code).toBe(0);
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), since: 'earlier' }));
    expect(runCli(['train', '--resume', dir, '--steps', '6', '--quiet']).code).toBe(0);
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: 4242, host: 'elsewhere', since: 'earlier' }));
    const r = runCli(['train', '--resume', dir, '--steps', '8', '--quiet']);
    expect(r.code).toBe(1);
    oneLineError(r, /is in use by pid 4242 on elsewhere \(since earlier\); if that process is gone, delete .*\/lock$/);
  });

  it('--resume of a finished run says it is finished and leaves it as it was', () => {
    const dir = join(tempDir(), 'run');
    expect(runCli(['train', ...small, '--steps', '4', '--out', dir]).code).toBe(0);
    const before = readFileSync(join(dir, 'metrics.jsonl'), 'utf8');
    const summary = readFileSync(join(dir, 'summary.json'), 'utf8');
    const r = runCli(['train', '--resume', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(`${dir} is finished (4 of 4 steps); nothing to resume. --steps or --epochs beyond its end extend it\n`);
    expect(r.stdout).toContain('best test accuracy');
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).toBe(before);
    expect(readFileSync(join(dir, 'summary.json'), 'utf8')).toBe(summary);
  });
});

describe('diverged and regression runs', () => {
  it('flags a run whose test loss grew by orders of magnitude, keeps it out of compare’s means, and shows test loss', () => {
    const dir = join(tempDir(), 'div');
    const r = runCli(['train', ...small, '--hidden', '64', '--lr', '1e9', '--epochs', '1', '--out', dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/biocredit: warning: the run diverged: its final test loss \S+ is \S+ times its initial \S+/);
    expect(json(join(dir, 'summary.json'))).toMatchObject({ status: 'diverged' });
    const out = join(tempDir(), 'cmp');
    const c = runCli(['compare', ...small, '--rules', 'bp,fa', '--lr', '1e9', '--epochs', '1', '--seeds', '1', '--out', out]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/^rule\s+runs\s+test acc %\s+test loss/m);
    expect(c.stdout).toMatch(/^bp\s+0 \+1 diverged/m);
    expect(c.stderr).toContain('diverged bp-s0: left out of the statistics');
    expect(json(join(out, 'results.json')).groups.bp).toMatchObject({ finished: 0, diverged: 1 });
  });

  it('judges a regression task by its normalized error (lower is better), never by accuracy', () => {
    const dir = join(tempDir(), 'reg');
    const r = runCli(['train', '--task', 'pattern', '--trials', '32', '--model', 'rnn', '--units', '8', '--rule', 'bptt', '--steps', '4', '--batch-size', '8', '--eval-every', '2', '--out', dir]);
    expect(r.code, r.stderr).toBe(0);
    const s = json(join(dir, 'summary.json'));
    expect(s.best.metric).toBe('nmse');
    const evals = records(dir).filter((x) => x.type === 'eval' && x.step > 0) as unknown as { step: number; test: { nmse: number } }[];
    expect(s.best.test.value).toBe(Math.min(...evals.map((e) => e.test.nmse)));
    expect(r.stdout).toMatch(/best test normalized error \d/);
    expect(r.stdout).not.toContain('accuracy -');
  });
});

describe('bad input: one line, non-zero exit, no directory left behind', () => {
  it.each([
    [['--task', 'delayed-xor', '--model', 'mlp'], 2, /model mlp gives outputs of shape \[2, 1\] where dataset delayed-xor needs \[2, \d+, 1\] \(a task needs a model that steps through time: --model rnn\)/],
    [['--dataset', 'mnist-mini', '--hidden', '2000000'], 2, /model mlp has 1,590,000,010 parameters: 5\.9 GB as float32, about 23\.7 GB to train/],
    [['--dataset', 'mnist-mini', '--batch-size', '100000'], 2, /--batch-size 100000 is larger than the training split of mnist-mini \(8000 examples\)/],
    [['--dataset', 'mnist-mini', '--epochs', '1e20'], 2, /--epochs 100000000000000000000 makes 1\.25e\+22 training steps; at most 1e\+9/],
  ])('train %j', (args, code, pattern) => {
    const out = join(tempDir(), 'never');
    const r = runCli(['train', ...args, '--quiet', '--out', out]);
    expect(r.code).toBe(code);
    oneLineError(r, pattern);
    expect(existsSync(out)).toBe(false);
  });

  it('--out naming a file, or a path through one', () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'x');
    oneLineError(runCli(['train', ...small, '--steps', '1', '--out', file]), /--out .*a-file is a file; a run directory is needed/);
    oneLineError(runCli(['train', ...small, '--steps', '1', '--out', join(file, 'run')]), /--out .*a-file\/run: cannot create the directory \(a file stands where a directory is needed\)/);
    oneLineError(runCli(['compare', ...small, '--rules', 'bp', '--steps', '1', '--out', join(file, 'cmp')]), /--out .*a-file\/cmp: cannot create the directory/);
  });

  it('a damaged checkpoint, for resume and analyze: the file, what it holds and what it should', () => {
    const dir = join(tempDir(), 'run');
    expect(runCli(['train', ...small, '--steps', '4', '--out', dir]).code).toBe(0);
    truncateSync(join(dir, 'checkpoint', 'weights.bin'), 1000);
    const pattern = /checkpoint\/weights\.bin: holds 1000 bytes, but the 4 tensors listed for it need 50920 \(the file is damaged, e\.g\. cut short\)$/;
    for (const args of [['train', '--resume', dir, '--steps', '6'], ['analyze', dir]]) {
      const r = runCli([...args, '--quiet']);
      expect(r.code).toBe(1);
      oneLineError(r, pattern);
    }
  });
});
