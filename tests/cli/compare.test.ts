/** `biocredit compare` end to end on a small problem. */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { oneLineError, runCli, spawnCli, tempDir } from '../helpers.js';

const base = ['compare', '--dataset', 'mnist-mini', '--hidden', '16', '--steps', '40', '--eval-every', '20', '--diag-every', '10', '--quiet'];

describe('biocredit compare', () => {
  const out = join(tempDir(), 'cmp');
  const args = [...base, '--rules', 'bp,fa', '--seeds', '2', '--jobs', '2', '--out', out];

  it('runs every rule × seed in its own directory and writes the results', () => {
    const r = runCli([...args, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j.groups)).toEqual(['bp', 'fa']);
    expect(j.groups.bp.finished).toBe(2);
    expect(j.groups.bp.testAccuracy.n).toBe(2);
    expect(j.groups.bp.testAccuracy.mean).toBeGreaterThan(0.5);
    expect(j.groups.bp.hiddenAngle.mean).toBe(0);
    expect(j.groups.fa.hiddenAngle.mean).toBeGreaterThan(10);
    expect(Object.keys(j.groups.fa.angles)).toEqual(['l0', 'l1']);
    expect(j.runs.map((x: { rule: string; seed: number }) => `${x.rule}-s${x.seed}`)).toEqual(['bp-s0', 'bp-s1', 'fa-s0', 'fa-s1']);
    for (const d of ['bp-s0', 'bp-s1', 'fa-s0', 'fa-s1']) expect(existsSync(join(out, d, 'summary.json'))).toBe(true);
    const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(5);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(3);
    expect(html).toContain('Test accuracy');
    // Different seeds give different runs.
    expect(j.runs[0].testLoss).not.toBe(j.runs[1].testLoss);
  });

  it('skips finished runs and resumes unfinished ones when the same command runs again', () => {
    const before = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    rmSync(join(out, 'fa-s1', 'summary.json'));
    const r = runCli(args.filter((a) => a !== '--quiet'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('3 finished, 0 failed before, 1 to resume, 0 new');
    const after = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(after.groups).toEqual(before.groups);
  });

  it('refuses to mix a different command into the same directory', () => {
    oneLineError(runCli([...args, '--lr', '0.01']), /holds a comparison made by a different command \(configs\.bp\.optimizer\.lr: 0\.001 there vs 0\.01 now\)/);
    oneLineError(runCli([...base, '--rules', 'bp', '--seeds', '2', '--out', out]), /different command \(rules: \["bp","fa"\] there vs \["bp"\] now\)/);
  });

  it.each([
    [['--rules', 'bp,nope'], /unknown rule "nope"; known rules: bp, fa, dfa, usf, frsf, brsf/],
    [['--rules', 'bp', '--seeds', '0'], /--seeds must be a positive integer, got "0"/],
    [['--rules', 'bp', '--jobs', '0'], /--jobs must be a positive integer, got "0"/],
    [['--rules', 'bp,fa', '--sign-scale', '1'], /--sign-scale does not apply to any of the rules bp, fa \(it is an option of usf\)/],
    [['--rules', 'bp,bp'], /--rules lists bp twice/],
  ])('rejects %j', (extra, pattern) => {
    oneLineError(runCli([...base, ...extra, '--out', join(tempDir(), 'x')]), pattern);
  });
});

describe('biocredit compare --grid', () => {
  const out = join(tempDir(), 'grid');
  const args = ['compare', '--rules', 'bp,fa', '--grid', 'lr=1e-3,3e-3', '--dataset', 'mnist-mini', '--hidden', '16', '--steps', '20', '--eval-every', '10', '--seeds', '1', '--jobs', '2', '--out', out];

  it('runs rules × swept values × seeds, each from its prepared run directory, and groups the results by the swept option', () => {
    const r = runCli([...args, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.grid).toEqual(['lr']);
    expect(Object.keys(j.groups)).toEqual(['bp-lr=0.001', 'bp-lr=0.003', 'fa-lr=0.001', 'fa-lr=0.003']);
    expect(j.groups['fa-lr=0.003']).toMatchObject({ rule: 'fa', values: { lr: 0.003 }, finished: 1 });
    // Each run's config.json holds its swept value; the run ran from it.
    for (const [group, lr] of [['bp-lr=0.001', 0.001], ['fa-lr=0.003', 0.003]] as const) {
      const config = JSON.parse(readFileSync(join(out, `${group}-s0`, 'config.json'), 'utf8'));
      expect(config.optimizer.lr).toBe(lr);
      expect(config.rule.name).toBe(group.slice(0, 2));
    }
    const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(5);
    expect(csv[0]!.split(',').slice(0, 3)).toEqual(['rule', 'lr', 'seed']);
    expect(csv.slice(1).map((l) => l.split(',').slice(0, 2).join(','))).toEqual(['bp,0.001', 'bp,0.003', 'fa,0.001', 'fa,0.003']);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<th>rule</th><th>lr</th>');
    expect(html).toContain('<td>fa</td><td>0.003</td>');
    // Different learning rates, different runs.
    expect(j.runs[0].testLoss).not.toBe(j.runs[1].testLoss);
  });

  it('resumes the same sweep and refuses a different one in the same directory', () => {
    const r = runCli(args.filter((a) => a !== '--quiet'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('4 finished, 0 failed before, 0 to resume, 0 new');
    oneLineError(runCli(['compare', '--rules', 'bp,fa', '--grid', 'lr=1e-3,1e-2', ...args.slice(5)]), /different command \(grid\.lr: \[0\.001,0\.003\] there vs \[0\.001,0\.01\] now\)/);
  });

  it('writes every run’s config.json before any run starts; a prepared directory runs anywhere with train --resume', async () => {
    const prepared = join(tempDir(), 'prep');
    const sweep = ['compare', '--rules', 'bp', '--grid', 'hidden=8,12', '--dataset', 'mnist-mini', '--steps', '100000', '--jobs', '1', '--out', prepared];
    // Stop the comparison while its first run trains: the second run must already be prepared.
    const child = spawnCli(sweep);
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
      if (stderr.includes('[bp-hidden=8-s0] started')) child.kill('SIGINT');
    });
    expect(await new Promise<number | null>((r) => child.on('close', (c) => r(c)))).toBe(130);
    const second = join(prepared, 'bp-hidden=12-s0');
    expect(readdirSync(second)).toEqual(['config.json']);
    const config = JSON.parse(readFileSync(join(second, 'config.json'), 'utf8'));
    expect(config.model.options.hidden).toEqual([12]);
    // The prepared directory alone is a run: train --resume starts it, here with a shorter schedule.
    const r = runCli(['train', '--resume', second, '--steps', '3', '--quiet', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'finished', steps: 3, model: 'mlp' });
    expect(readFileSync(join(second, 'metrics.jsonl'), 'utf8')).toContain('"type":"eval"');
  });

  it.each([
    [['--grid', 'lr='], /^biocredit: error: --grid lr= lists no values; give them as --grid lr=a,b$/],
    [['--grid', 'nosuchoption=1'], /^biocredit: error: --grid nosuchoption: no training, dataset, model or rule option has that name/],
    [['--grid', 'lr=abc'], /^biocredit: error: --grid lr: --lr must be a positive number, got "abc"$/],
    [['--grid', 'lr=1e-3', '--lr', '0.01'], /--lr is given and swept by --grid lr; give one of them/],
    [['--grid', 'seed=1,2'], /--grid seed: vary seeds with --seeds/],
    [['--grid', 'window=3,4'], /--grid window does not apply to the rules bp, fa, model mlp or dataset mnist-mini \(it is an option of tbptt\)/],
    [['--grid', 'lr=1e-3,1e-3'], /--grid lr=1e-3,1e-3: a value is listed twice/],
    [['--grid', 'lr'], /--grid lr: expected name=values/],
  ])('rejects %j with one line and exit 2', (extra, pattern) => {
    const r = runCli(['compare', '--rules', 'bp,fa', '--dataset', 'mnist-mini', '--steps', '2', '--quiet', ...extra, '--out', join(tempDir(), 'x')]);
    expect(r.code).toBe(2);
    oneLineError(r, pattern);
  });
});
