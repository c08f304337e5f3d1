/**
 * Delayed XOR in ModProp's form (Liu, Smith, Mihalas, Shea-Brown, Sümbül 2022,
 * NeurIPS; Helena-Yuhan-Liu/ModProp): two input channels, one per cue. Cue 1
 * (the first 100 ms) is a Gaussian bump of height --cue-amplitude (σ = 25 ms) on
 * channel 1 or nothing, cue 2 (100 ms, after a --delay-ms delay, default 700)
 * the same on channel 2; both channels sit at a 0.02 baseline with 0.01 white
 * noise. Right after cue 2, for a 50 ms decision period (--decision-ms), the
 * output reports whether exactly one cue was present (+1) or not (−1) — the XOR
 * of the two bits. `--decision-ms 0` reads the answer at the last step of cue 2
 * instead, with no period after it (the reference's form). `--readout sign`
 * (default): one output, ±1 under squared error, metric the sign of its mean
 * over the decision steps. `--readout softmax`: two logits
 * (match, mismatch) under softmax cross-entropy at the decision steps, as the
 * reference reads them (it uses the last step only), metric the class of the
 * summed logits. The reference runs dt = 1 ms; the default here is 10 ms
 * (--dt 1 reproduces the paper's resolution at ten times the cost).
 */
import { option, parse } from '../../src/options.js';
import { TrialBuilder, defineTask } from './task.js';

const CUE_MS = 100;
const BASELINE = 0.02;
const NOISE = 0.01;

export const delayedXor = defineTask({
  name: 'delayed-xor',
  description: 'two cues (present/absent) 700 ms apart; report their XOR (+1: exactly one present, −1: both or neither)',
  reference: 'Liu, Smith, Mihalas, Shea-Brown, Sümbül 2022, NeurIPS (ModProp)',
  inputs: ['cue-1', 'cue-2'],
  outputs: ['xor'],
  loss: 'mse-decision',
  defaultDtMs: 10,
  options: [
    option('delayMs', '--delay-ms <ms>', 'delay between the two cues', 700, parse.positiveNumber),
    option('cueAmplitude', '--cue-amplitude <a>', 'height of a present cue', 2, parse.positiveNumber),
    option('decisionMs', '--decision-ms <ms>', 'decision period after cue 2; 0: the answer is read at the last step of cue 2 (as the reference)', 50, parse.nonNegativeNumber),
    option('readout', '--readout <kind>', 'sign (one ±1 output, squared error) or softmax (two logits, cross-entropy)', 'sign' as 'sign' | 'softmax', parse.choice(['sign', 'softmax'] as const)),
  ],
  readout: (o) => (o.readout === 'softmax' ? { outputs: ['match', 'mismatch'], loss: 'sequence-ce' } : { outputs: ['xor'], loss: 'mse-decision' }),
  maxSteps: (o, dt) => {
    const decision = o.decisionMs;
    return [CUE_MS, o.delayMs, CUE_MS, ...(decision > 0 ? [decision] : [])].reduce((n, ms) => n + Math.max(1, Math.round(ms / dt)), 0);
  },
  trial(rng, o, dt) {
    const [a, b] = [rng.int(2), rng.int(2)];
    const amp = o.cueAmplitude;
    const bump = (on: number) => (k: number, n: number) => {
      const t = ((k + 0.5) / n - 0.5) * CUE_MS; // ms from the cue's centre
      return on ? amp * Math.exp(-(t * t) / (2 * (CUE_MS / 4) ** 2)) : 0;
    };
    const noisy = (v: [number, number]) => v.map((x) => x + BASELINE + NOISE * rng.normal());
    const [cue1, cue2] = [bump(a), bump(b)];
    const softmax = o.readout === 'softmax';
    const tb = new TrialBuilder(2, softmax ? 2 : 1, dt);
    tb.period('cue1', CUE_MS, (k, n) => ({ inputs: noisy([cue1(k, n), 0]) }));
    tb.period('delay', o.delayMs, () => ({ inputs: noisy([0, 0]) }));
    const target = softmax ? (a !== b ? [0, 1] : [1, 0]) : [a !== b ? 1 : -1];
    const decisionMs = o.decisionMs;
    const answer = { targets: target, mask: 1 };
    tb.period('cue2', CUE_MS, (k, n) => ({ inputs: noisy([0, cue2(k, n)]), ...(decisionMs === 0 && k === n - 1 ? answer : {}) }));
    if (decisionMs > 0) tb.period('decision', decisionMs, () => ({ inputs: noisy([0, 0]), ...answer }));
    return tb.build();
  },
});
