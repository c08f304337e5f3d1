/**
 * The numbers biocredit produced before its core was redrawn around
 * capabilities, update rules, populations and analysis plug-ins, pinned: the
 * same commands on the same backend must give the same metrics records, the
 * same final weights (bit for bit) and the same Hessian numbers. The digests
 * were recorded with these exact commands at commit 4982a52 on the wasm backend
 * (metrics: sha256 of the records without their timing fields; weights: sha256
 * of checkpoint/weights.bin; first 16 hex digits each). Evaluations then came
 * at epoch ends only; they now come about 20 times a run by default, so the
 * commands name the old cadence (`--eval-every` = the steps of an epoch), which
 * evaluation alone cannot change the training of.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprintHash, type Fingerprint } from '../../src/compare.js';
import { runCli, tempDir } from '../helpers.js';

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 16);

function records(dir: string): Record<string, unknown>[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .map(({ wallSec: _w, examplesPerSec: _e, ...r }) => r);
}

function digest(dir: string) {
  const recs = records(dir);
  return { metrics: sha(JSON.stringify(recs)), weights: sha(readFileSync(join(dir, 'checkpoint', 'weights.bin'))), final: recs.filter((r) => r['type'] === 'eval').at(-1)!['test'] };
}

function run(args: string[]): string {
  // Plain wasm kernels: the native addon's products round differently (tests/src/native.test.ts checks them).
  const r = runCli([...args, '--quiet'], { BIOCREDIT_BACKEND: 'wasm', BIOCREDIT_NATIVE: '0' });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

const BP = { metrics: 'd7d9bf51a206545c', weights: '6dfb6d2900d4c003', final: { loss: 0.33532674610614777, accuracy: 0.906, n: 2000 } };

describe.skipIf(Boolean(process.env['BIOCREDIT_BACKEND']) && process.env['BIOCREDIT_BACKEND'] !== 'wasm')('numbers pinned from before the core redesign (wasm backend)', () => {
  const bpDir = join(tempDir(), 'bp');

  it('biocredit train --dataset mnist-mini --rule bp --epochs 1', () => {
    run(['train', '--dataset', 'mnist-mini', '--rule', 'bp', '--epochs', '1', '--eval-every', '125', '--out', bpDir]);
    expect(digest(bpDir)).toEqual(BP);
  });

  it('biocredit compare --rules fa,dfa,usf --dataset mnist-mini --epochs 1 --seeds 1 (and the same default directory name)', () => {
    const out = join(tempDir(), 'cmp');
    run(['compare', '--rules', 'fa,dfa,usf', '--dataset', 'mnist-mini', '--epochs', '1', '--seeds', '1', '--eval-every', '125', '--out', out]);
    expect(digest(join(out, 'fa-s0'))).toEqual({ metrics: '38900f02783927d0', weights: 'd21e016f281b2f20', final: { loss: 0.4630856066942215, accuracy: 0.8545, n: 2000 } });
    expect(digest(join(out, 'dfa-s0'))).toEqual({ metrics: 'cda3bb0c4b2d9671', weights: 'bcee986369a13a97', final: { loss: 0.46340277791023254, accuracy: 0.867, n: 2000 } });
    expect(digest(join(out, 'usf-s0'))).toEqual({ metrics: 'fe88c2953fb5bba6', weights: '342468b3961186b4', final: { loss: 0.35183699429035187, accuracy: 0.8935, n: 2000 } });
    // The settings hash names the default directory: an older compare directory is found again
    // by the same command (whose --eval-every is the default 0). Options added to the model since
    // (mlp --init-rank, at its default) are left out here; defaultCompareDir finds the older
    // directory by its settings resolved with them at their defaults.
    const fp = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8')).fingerprint as Fingerprint;
    for (const c of Object.values(fp.configs)) {
      c.training.evalEvery = 0;
      expect(c.model.options['initRank']).toBe(0);
      delete c.model.options['initRank'];
    }
    expect(fingerprintHash(fp)).toBe('0100f574');
  });

  it.each([
    ['modprop', { metrics: 'f6666ddc8192f947', weights: 'b34ca94545e7a88b', final: { loss: 0.5089956521987915, accuracy: 0.46875, n: 256 } }],
    // Re-pinned when e-prop's and RFLO's sums over time became one product over the stacked steps
    // (the same sums in another order; tests/rules/eprop-rflo.test.ts checks them against the per-step
    // recursions). Before: e-prop b1c13833b61baa32 / 11516b9fcc57be0d with the same final test loss;
    // RFLO 49940caee2704655 / f555fe3735d09901, final test loss 148190576 (this run diverges).
    ['eprop', { metrics: 'acdc9cd8457cf559', weights: '7391a1a335ee2e26', final: { loss: 0.3407772183418274, accuracy: 0.71875, n: 256 } }],
    ['rflo', { metrics: 'c8ed55273e8bf733', weights: 'da52f3e52ddf1a90', final: { loss: 148204144, accuracy: 0.4765625, n: 256 } }],
  ])('biocredit train --model rnn --task delayed-xor --rule %s --dale 0.8 --steps 50', (rule, want) => {
    const dir = join(tempDir(), rule);
    run(['train', '--model', 'rnn', '--task', 'delayed-xor', '--rule', rule, '--dale', '0.8', '--steps', '50', '--eval-every', '32', '--out', dir]);
    expect(digest(dir)).toEqual(want);
  });

  it('biocredit analyze RUN --hessian top-k=3,trace', () => {
    const j = JSON.parse(run(['analyze', bpDir, '--hessian', 'top-k=3,trace', '--json']));
    const { hessian, gap } = j.runs[0];
    expect(hessian.topK.values).toEqual([15.334866575573328, 12.77244798752029, 9.912838040246768]);
    expect(hessian.topK.residuals).toEqual([0.000001565763402602825, 0.000025955554645288016, 0.0007502413015785302]);
    expect(hessian.trace).toEqual({ method: 'hutch++', value: 98.61681284170145, se: 3.099873563009421, hvps: 60 });
    expect([hessian.hvps, hessian.loss, hessian.gradNorm, hessian.hvpCheck]).toEqual([74, 0.3137403726577759, 0.8387598151337846, 0.000006234706165097026]);
    expect(gap).toEqual({
      lossGap: 0.030601996928453445,
      accuracyGap: 0.00737500000000002,
      train: { loss: 0.3047247491776943, accuracy: 0.913375, n: 8000 },
      test: BP.final,
    });
  });
});
