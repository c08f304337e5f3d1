/** A toy task: a cue on one of two channels at the first step; after --delay-ms, report which (±1). */
import { TrialBuilder, defineTask } from '../../datasets/tasks/task.js';
import { option, parse } from '../../src/options.js';

export const toyTask = defineTask({
  name: 'toy-recall',
  description: 'toy: recall which of two channels was cued, after a delay',
  reference: 'a test of the task contract',
  inputs: ['a', 'b'],
  outputs: ['which'],
  loss: 'mse-decision',
  defaultDtMs: 20,
  options: [option('delayMs', '--delay-ms <ms>', 'delay before the answer', 100, parse.positiveNumber)],
  maxSteps: (o, dt) => 1 + Math.max(1, Math.round(o.delayMs / dt)) + 1,
  trial(rng, o, dt) {
    const which = rng.int(2);
    const b = new TrialBuilder(2, 1, dt);
    b.period('cue', dt, () => ({ inputs: which ? [0, 1] : [1, 0] }));
    b.period('delay', o.delayMs, () => ({}));
    b.period('answer', dt, () => ({ targets: [which ? 1 : -1], mask: 1 }));
    return b.build();
  },
});
