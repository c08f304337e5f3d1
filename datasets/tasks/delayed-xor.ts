/**
 * Delayed XOR (ModProp's task; Liu et al. 2022, NeurIPS): two cues, each one of
 * two patterns on its own input channel, with onsets 700 ms apart; after the
 * second, the output reports whether they differed (+1) or matched (−1).
 * Periods: fixation 100 ms, cue 1 100 ms, delay 600 ms, cue 2 100 ms, delay
 * 100 ms, decision 200 ms. The paper ran dt = 1 ms; the default here is 10 ms
 * (--dt 1 reproduces the paper's resolution at ten times the cost).
 * Metric: accuracy of the sign of the mean output over the decision period.
 */
import { TrialBuilder, type TaskDefinition } from './task.js';

const PERIODS_MS = [100, 100, 600, 100, 100, 200];

export const delayedXor: TaskDefinition = {
  name: 'delayed-xor',
  description: 'two cues 700 ms apart; report whether they differed (+1) or matched (−1)',
  reference: 'Liu, Smith, Mihalas, Shea-Brown, Sümbül 2022, NeurIPS (ModProp)',
  inputs: ['pattern-a', 'pattern-b'],
  outputs: ['xor'],
  loss: 'mse-decision',
  defaultDtMs: 10,
  options: [],
  maxSteps: (_o, dt) => PERIODS_MS.reduce((n, ms) => n + Math.max(1, Math.round(ms / dt)), 0),
  trial(rng, _o, dt) {
    const [a, b] = [rng.int(2), rng.int(2)];
    const cue = (p: number) => (p === 0 ? [1, 0] : [0, 1]);
    const t = new TrialBuilder(2, 1, dt);
    t.period('fixation', PERIODS_MS[0]!, () => ({}));
    t.period('cue1', PERIODS_MS[1]!, () => ({ inputs: cue(a) }));
    t.period('delay1', PERIODS_MS[2]!, () => ({}));
    t.period('cue2', PERIODS_MS[3]!, () => ({ inputs: cue(b) }));
    t.period('delay2', PERIODS_MS[4]!, () => ({}));
    t.period('decision', PERIODS_MS[5]!, () => ({ targets: [a === b ? -1 : 1], mask: 1 }));
    return t.build();
  },
};
