/**
 * Context-dependent decision making (Mante, Sussillo, Shenoy, Newsome 2013;
 * neurogym's ContextDecisionMaking): two modalities (motion, colour) each carry
 * noisy evidence for two choices, (1 ± c_m)/2 + (σ/√dt) ξ on a pair of channels,
 * with independent signed coherences c₁, c₂ from ±{0, 3.2, 6.4, 12.8, 25.6, 51.2}%;
 * a context cue (one of two channels at 1 throughout the trial) says which
 * modality counts. After a delay the output must report the sign of the cued
 * coherence (+1 or −1; a coin flip when it is 0) for the decision period.
 * Periods: fixation --fixation-ms (0: none, the default, as in Liu et al. 2023),
 * stimulus --stimulus-ms (750), delay --delay-ms (600), decision --decision-ms (100).
 * Metric: accuracy of the sign of the mean output over the decision period.
 */
import { option, parse } from '../../src/options.js';
import { TrialBuilder, defineTask, periodSteps } from './task.js';

const COHERENCES = [0, 0.032, 0.064, 0.128, 0.256, 0.512];

export const contextDecision = defineTask({
  name: 'context-decision',
  description: 'two modalities of noisy evidence and a context cue; after a delay report the cued modality\'s stronger side (±1)',
  reference: 'Mante, Sussillo, Shenoy, Newsome 2013, Nature; neurogym ContextDecisionMaking',
  inputs: ['motion-left', 'motion-right', 'colour-left', 'colour-right', 'context-motion', 'context-colour'],
  outputs: ['choice'],
  loss: 'mse-decision',
  defaultDtMs: 20,
  options: [
    option('noise', '--evidence-noise <σ>', 'input noise σ; the per-step std is σ/√dt (dt in ms)', 1, parse.nonNegativeNumber),
    option('fixationMs', '--fixation-ms <ms>', 'fixation before the evidence, context cue on (0: none)', 0, parse.nonNegativeNumber),
    option('stimulusMs', '--stimulus-ms <ms>', 'duration of the evidence', 750, parse.positiveNumber),
    option('delayMs', '--delay-ms <ms>', 'delay between the evidence and the decision', 600, parse.positiveNumber),
    option('decisionMs', '--decision-ms <ms>', 'duration of the decision period', 100, parse.positiveNumber),
  ],
  maxSteps: (o, dt) => periodSteps(dt, [o.stimulusMs, o.delayMs, o.decisionMs], [o.fixationMs]),
  trial(rng, o, dt) {
    const coherence = () => COHERENCES[rng.int(COHERENCES.length)]! * (rng.uniform() < 0.5 ? -1 : 1);
    const c = [coherence(), coherence()];
    const context = rng.int(2);
    const cued = c[context]!;
    const sign = cued > 0 ? 1 : cued < 0 ? -1 : rng.uniform() < 0.5 ? -1 : 1;
    const cue = [context === 0 ? 1 : 0, context === 1 ? 1 : 0];
    const sigma = o.noise / Math.sqrt(dt);
    const b = new TrialBuilder(6, 1, dt);
    const quiet = () => ({ inputs: [0, 0, 0, 0, ...cue] });
    if (o.fixationMs > 0) b.period('fixation', o.fixationMs, quiet);
    b.period('stimulus', o.stimulusMs, () => ({
      inputs: [...c.flatMap((cm) => [(1 + cm) / 2 + sigma * rng.normal(), (1 - cm) / 2 + sigma * rng.normal()]), ...cue],
    }));
    b.period('delay', o.delayMs, quiet);
    b.period('decision', o.decisionMs, () => ({ inputs: [0, 0, 0, 0, ...cue], targets: [sign], mask: 1 }));
    return b.build();
  },
});
