/**
 * Perceptual decision making (neurogym's PerceptualDecisionMaking; Britten et
 * al. 1992's random-dot task in rate form): two input channels carry noisy
 * evidence (1 ± c)/2 + (σ/√dt) ξ (dt in ms, as neurogym scales it) for the
 * two choices over a stimulus period; after
 * it, the output must report the sign of c (+1 or −1) for the decision period.
 * c is drawn from ±{0, 3.2, 6.4, 12.8, 25.6, 51.2}% (c = 0: the sign is a coin
 * flip). Periods: fixation --fixation-ms (100; 0: none), stimulus --stimulus-ms (500), decision
 * --decision-ms (200); shorter ones suit biophysical networks integrated in
 * 0.05 ms substeps.
 * Metric: accuracy of the sign of the mean output over the decision period.
 */
import { option, parse } from '../../src/options.js';
import { TrialBuilder, defineTask, periodSteps } from './task.js';

const COHERENCES = [0, 0.032, 0.064, 0.128, 0.256, 0.512];

export const perceptualDecision = defineTask({
  name: 'perceptual-decision',
  description: 'integrate noisy evidence on two channels, then report the stronger one (±1)',
  reference: 'neurogym PerceptualDecisionMaking; Britten et al. 1992',
  inputs: ['evidence-left', 'evidence-right'],
  outputs: ['choice'],
  loss: 'mse-decision',
  defaultDtMs: 20,
  options: [
    option('noise', '--evidence-noise <σ>', 'input noise σ; the per-step std is σ/√dt (dt in ms)', 1, parse.nonNegativeNumber),
    option('fixationMs', '--fixation-ms <ms>', 'fixation before the evidence (0: none)', 100, parse.nonNegativeNumber),
    option('stimulusMs', '--stimulus-ms <ms>', 'duration of the evidence', 500, parse.positiveNumber),
    option('decisionMs', '--decision-ms <ms>', 'duration of the decision period', 200, parse.positiveNumber),
  ],
  maxSteps: (o, dt) => periodSteps(dt, [o.stimulusMs, o.decisionMs], [o.fixationMs]),
  trial(rng, o, dt) {
    const c = COHERENCES[rng.int(COHERENCES.length)]! * (rng.uniform() < 0.5 ? -1 : 1);
    const sign = c > 0 ? 1 : c < 0 ? -1 : rng.uniform() < 0.5 ? -1 : 1;
    const sigma = o.noise / Math.sqrt(dt);
    const b = new TrialBuilder(2, 1, dt);
    if (o.fixationMs > 0) b.period('fixation', o.fixationMs, () => ({}));
    b.period('stimulus', o.stimulusMs, () => ({
      inputs: [(1 + c) / 2 + sigma * rng.normal(), (1 - c) / 2 + sigma * rng.normal()],
    }));
    b.period('decision', o.decisionMs, () => ({ targets: [sign], mask: 1 }));
    return b.build();
  },
});
