import { describe, expect, it } from 'vitest';
import { firstDifference, fingerprint, fingerprintHash, resultsCsv, stat, type ComparisonResults } from '../../src/compare.js';
import { resolveConfig } from '../../src/config.js';

describe('comparison bookkeeping', () => {
  it('computes mean and sample std over finite values', () => {
    expect(stat([1, 2, 3, 4])).toEqual({ mean: 2.5, std: Math.sqrt(5 / 3), n: 4 });
    expect(stat([0.9])).toEqual({ mean: 0.9, std: 0, n: 1 });
    expect(stat([NaN, 2, 4])).toEqual({ mean: 3, std: Math.SQRT2, n: 2 });
    expect(stat([]).n).toBe(0);
  });

  it('fingerprints settings independently of seed, backend and key order', () => {
    const a = resolveConfig({ dataset: 'mnist-mini', rule: 'fa', lr: 0.01, seed: 3 }, 'wasm');
    const b = resolveConfig({ seed: 7, lr: 0.01, rule: 'fa', dataset: 'mnist-mini' }, 'cpu');
    const c = resolveConfig({ dataset: 'mnist-mini', rule: 'fa', lr: 0.02 }, 'wasm');
    expect(fingerprintHash(fingerprint(['fa'], [0, 1], { fa: a }))).toBe(fingerprintHash(fingerprint(['fa'], [0, 1], { fa: b })));
    expect(fingerprintHash(fingerprint(['fa'], [0, 1], { fa: a }))).not.toBe(fingerprintHash(fingerprint(['fa'], [0, 1], { fa: c })));
    expect(firstDifference(fingerprint(['fa'], [0], { fa: a }), fingerprint(['fa'], [0], { fa: c }))).toBe('configs.fa.optimizer.lr: 0.01 there vs 0.02 now');
    expect(firstDifference({ seeds: [0, 1] }, { seeds: [0, 1, 2] })).toBe('seeds: [0,1] there vs [0,1,2] now');
    expect(firstDifference({ x: 1 }, { x: 1 })).toBeNull();
  });

  it('writes one CSV row per run with per-layer angles, quoting where needed', () => {
    const run = (rule: string, seed: number, angles: Record<string, number>) => ({
      group: rule,
      rule,
      values: {},
      seed,
      dir: `/x/${rule}`,
      status: 'finished' as const,
      testAccuracy: 0.9,
      bestTestAccuracy: 0.91,
      trainAccuracy: 0.95,
      testLoss: 0.3,
      testNmse: NaN,
      testMae: NaN,
      secPerEpoch: 1.5,
      wallSec: 4,
      angles,
      hiddenAngle: angles['l0'] ?? NaN,
      evals: [],
      diags: [],
    });
    const results: ComparisonResults = {
      dir: '/x',
      command: 'c',
      grid: [],
      groups: [],
      runs: [run('bp', 0, { l0: 0, l1: 0 }), { ...run('fa,odd', 1, { l0: 70 }), status: 'failed', testAccuracy: NaN }],
    };
    const lines = resultsCsv(results).trim().split('\n');
    expect(lines[0]).toBe('rule,seed,status,test_accuracy,best_test_accuracy,train_accuracy,test_loss,test_nmse,test_mae,sec_per_epoch,hidden_angle_deg,angle_l0_deg,angle_l1_deg');
    expect(lines[1]).toBe('bp,0,finished,0.9,0.91,0.95,0.3,,,1.5,0,0,0');
    expect(lines[2]).toBe('"fa,odd",1,failed,,0.91,0.95,0.3,,,1.5,70,70,');
  });
});
