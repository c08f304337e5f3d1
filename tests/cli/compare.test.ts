/** `biocredit compare` end to end on a small problem. */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { oneLineError, runCli, tempDir } from '../helpers.js';

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
