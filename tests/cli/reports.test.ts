/**
 * The reports show the differences a user came to see: learning curves with
 * enough evaluations, a zoomed accuracy view, train and test loss, one colour
 * per rule on every page, short titles with the command below, figures that
 * wrap, log axes where values span decades, diverged runs marked, all top-k
 * eigenvalues, and a report.html for a single run (also when interrupted).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { valueScale } from '../../src/analysis/report.js';
import { groupColors } from '../../src/plots.js';
import { AUTO_EVALUATIONS } from '../../src/trainer.js';
import { interruptedTrain, runCli, tempDir } from '../helpers.js';

const small = ['--dataset', 'mnist-mini', '--hidden', '16', '--quiet'];
const read = (path: string) => readFileSync(path, 'utf8');
const captions = (html: string) => [...html.matchAll(/<figcaption>([^<]*)<\/figcaption>/g)].map((m) => m[1]!);
const evalSteps = (dir: string) =>
  read(join(dir, 'metrics.jsonl'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; step: number })
    .filter((r) => r.type === 'eval')
    .map((r) => r.step);
/** The colours an SVG draws lines and points in. */
const strokes = (svg: string) => new Set([...svg.matchAll(/(?:stroke|fill)="(#[0-9a-f]{6})"/g)].map((m) => m[1]!));

describe('colours and axes', () => {
  it('gives a rule the same colour in any comparison, whichever rules it is with', () => {
    const [bp, fa, dfa] = groupColors(['bp', 'fa', 'dfa']);
    expect(groupColors(['fa'])).toEqual([fa]);
    expect(groupColors(['dfa', 'bp'])).toEqual([dfa, bp]);
    expect(new Set([bp, fa, dfa]).size).toBe(3);
    // The groups of a sweep (several per rule) take distinct colours in their order.
    expect(new Set(groupColors(['bp-lr=0.001', 'bp-lr=0.003', 'fa-lr=0.001'])).size).toBe(3);
  });

  it('uses a log axis where values span decades, symlog when their signs differ, linear otherwise', () => {
    expect(valueScale([3, 4, 5]).type).toBe('linear');
    expect(valueScale([3, 40, 7.1e20]).type).toBe('log');
    expect(valueScale([-0.01, 3, 7.1e20]).type).toBe('symlog');
  });
});

describe('a single run gets its report.html', () => {
  it('with about 20 evaluations, the learning curves, losses and alignment, titled short with the command below', () => {
    const dir = join(tempDir(), 'run');
    const r = runCli(['train', ...small, '--rule', 'fa', '--steps', '100', '--diag-every', '25', '--out', dir]);
    expect(r.code, r.stderr).toBe(0);
    // Every ⌈100/20⌉ = 5 steps, plus step 0.
    expect(evalSteps(dir)).toEqual(Array.from({ length: AUTO_EVALUATIONS + 1 }, (_, i) => 5 * i));
    const html = read(join(dir, 'report.html'));
    expect(html).toContain('<h1>Run: fa on mlp / mnist-mini (seed 0)</h1>');
    expect(html).toMatch(/<div class="command">biocredit train --dataset mnist-mini .*--out /);
    expect(captions(html)).toEqual([
      'Test accuracy',
      'Test accuracy over the second half of training, axis zoomed to it',
      'Loss (solid: test; dashed: train, the running mean since the previous evaluation)',
      'Angle between each hidden layer’s update and the backprop gradient',
      'Angle between each layer’s feedback matrix and its backprop counterpart',
    ]);
    expect(html).not.toContain('over seeds');
    expect(html).toContain('<strong>finished</strong>');
    // fa's colour, the same as in any comparison.
    const [fa] = groupColors(['fa']);
    for (const svg of html.split('<svg').slice(1)) expect(strokes(svg)).toContain(fa);
  });

  it('written when the run is interrupted, saying where it stopped', async () => {
    const dir = join(tempDir(), 'run');
    const { code } = await interruptedTrain([...small, '--steps', '100000', '--eval-every', '5'], dir);
    expect(code).toBe(130);
    const summary = JSON.parse(read(join(dir, 'summary.json')));
    const html = read(join(dir, 'report.html'));
    expect(html).toContain(`interrupted at step ${summary.steps} of 100000`);
    expect(html).toContain('split (step');
    expect(captions(html)[0]).toBe('Test accuracy');
  });
});

describe('comparison and analysis pages', () => {
  const out = join(tempDir(), 'cmp');

  it('compare: the figures, one colour per rule in all of them, and a solid legend', () => {
    const r = runCli(['compare', ...small, '--rules', 'bp,fa', '--steps', '40', '--seeds', '2', '--diag-every', '20', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const html = read(join(out, 'report.html'));
    expect(html).toContain('<h1>Comparison: bp, fa on mlp / mnist-mini</h1>');
    expect(captions(html)).toEqual([
      'Test accuracy (line: mean over seeds; band: ±1 std)',
      'Test accuracy over the second half of training, axis zoomed to it',
      'Loss (solid: test; dashed: train, the running mean since the previous evaluation; mean over seeds)',
      'Angle between each hidden layer’s update and the backprop gradient (mean over seeds)',
      'Angle between each layer’s feedback matrix and its backprop counterpart (mean over seeds)',
    ]);
    const [bp, fa] = groupColors(['bp', 'fa']);
    const svgs = html.split('<svg').slice(1);
    // Every figure draws fa in its colour; bp has no feedback matrix, so not in the last.
    for (const svg of svgs) expect(strokes(svg)).toContain(fa);
    for (const svg of svgs.slice(0, -1)) expect(strokes(svg)).toContain(bp);
    // Legend symbols are drawn fully opaque, whatever the band's opacity.
    for (const colour of [bp, fa]) expect(svgs[0]).toMatch(new RegExp(`role-legend-symbol"[^>]*><path [^>]*fill="${colour}"[^>]*opacity="1"`));
    expect(html).toContain('mean ± std over seeds (n − 1)');
  });

  it('analysis: short title with the command, all top-k eigenvalues, figures in a wrapping grid', () => {
    const r = runCli(['analyze', out, '--hessian', 'top-k=3', '--points', '100', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    for (const run of ['bp-s0', 'bp-s1', 'fa-s0', 'fa-s1']) expect(r.stdout).toMatch(new RegExp(`^${run}: top-3 Hessian eigenvalues \\S+, \\S+, \\S+$`, 'm'));
    const html = read(join(out, 'analysis.html'));
    expect(html).toContain('<h1>Analysis: bp, fa on mlp / mnist-mini</h1>');
    expect(html).toContain(`<div class="command">biocredit analyze ${out} --hessian top-k=3 --points 100 --quiet</div>`);
    expect(html).toContain('Runs of <code>biocredit compare');
    expect(html).toContain('<div class="figures">');
    expect(captions(html)).toEqual(
      expect.arrayContaining(['Top 3 Hessian eigenvalues, each run a line', 'Top Hessian eigenvalue per group (line: mean over seeds; dots: seeds)']),
    );
    expect(html).toContain('Mean ± std over seeds (n − 1).');
  });

  it('a single run’s analysis page claims no seeds and shows only what was computed', () => {
    const r = runCli(['analyze', join(out, 'fa-s0'), '--hessian', 'top-k=3', '--points', '100', '--no-gap', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const html = read(join(out, 'fa-s0', 'analysis.html'));
    expect(html).not.toContain('over seeds');
    // One run: its numbers are in the table; the per-group figures would hold one dot each.
    expect(captions(html)).toEqual(['Top 3 Hessian eigenvalues']);
    expect(html).toContain('top-3 Hessian eigenvalues');
  });

  it('marks a diverged run in the tables and figures, on a log axis', () => {
    const div = join(tempDir(), 'div');
    expect(runCli(['compare', ...small, '--rules', 'bp', '--grid', 'lr=1e-3,1e9', '--steps', '60', '--seeds', '1', '--out', div]).code).toBe(0);
    const report = read(join(div, 'report.html'));
    expect(report).toContain('<td class="warn">0 +1 diverged</td>');
    expect(report).toContain('Left out of the statistics: bp-lr=1000000000-s0 (diverged)');
    const r = runCli(['analyze', div, '--hessian', 'top-k=1', '--points', '100', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^bp-lr=1000000000\s+1 \(1 diverged\)/m);
    const html = read(join(div, 'analysis.html'));
    expect(html).toContain('<td class="warn">1 (1 diverged)</td>');
    expect(captions(html)).toEqual(expect.arrayContaining(['Top Hessian eigenvalue per group; ✕: runs that diverged', 'Generalization gap per group; ✕: runs that diverged']));
    // The diverged run's loss gap is orders of magnitude above the other's: a log axis keeps both readable.
    expect(html).toContain('test loss − train loss (log)');
  });
});
