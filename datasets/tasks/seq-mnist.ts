/**
 * Row-wise sequential MNIST (Le, Jaitly, Hinton 2015 in its row form; the
 * setting of Liu et al. 2022's curvature study): the 28 rows of a digit are the
 * inputs of 28 consecutive periods row0 … row27 of --row-ms each (one step per
 * row at the default dt = row time), and the 10 outputs are read as logits at the last
 * step, with softmax cross-entropy. Splits are MNIST's (--source mnist: the
 * canonical 60k/10k; mnist-mini: the packaged 8k/2k subset); the pixels are the
 * dataset's, in [0, 1]. Metric: accuracy of the class at the last step.
 */
import { loadMnist, loadMnistMini } from '../mnist.js';
import { UsageError } from '../../src/errors.js';
import { option, parse } from '../../src/options.js';
import { TrialBuilder, defineTask } from './task.js';

const ROWS = 28;

export const seqMnist = defineTask({
  name: 'seq-mnist',
  description: 'classify a digit shown one row (28 pixels) per step; logits read at the last row',
  reference: 'Le, Jaitly, Hinton 2015 (row-wise); Liu et al. 2022 (curvature of bio-plausible rules)',
  inputs: Array.from({ length: ROWS }, (_, i) => `px${i}`),
  outputs: Array.from({ length: 10 }, (_, i) => `class${i}`),
  loss: 'sequence-ce',
  defaultDtMs: 10,
  options: [
    option('rowMs', '--row-ms <ms>', 'how long each row is shown', 10, parse.positiveNumber),
    option('source', '--source <name>', 'mnist (canonical 60k/10k) or mnist-mini (8k/2k packaged subset)', 'mnist' as 'mnist' | 'mnist-mini', parse.choice(['mnist', 'mnist-mini'] as const)),
  ],
  maxSteps: (o, dt) => ROWS * Math.max(1, Math.round(o.rowMs / dt)),
  async source(o, dt) {
    const rowMs = o.rowMs;
    if (rowMs < dt) throw new UsageError(`seq-mnist: --row-ms ${rowMs} is shorter than --dt ${dt}; each row needs at least one step`);
    const data = o.source === 'mnist-mini' ? loadMnistMini({ val: 0 }) : loadMnist({ dataDir: null, val: 0 });
    return {
      size: (split) => data.size(split),
      example(split, index) {
        const { x, y } = data.arrays(split);
        return { values: x.subarray(index * 784, (index + 1) * 784), label: y[index]! };
      },
    };
  },
  trial(_rng, o, dt, example) {
    if (!example) throw new Error('seq-mnist trials come from its source');
    const rowMs = o.rowMs;
    const b = new TrialBuilder(ROWS, 10, dt);
    for (let r = 0; r < ROWS; r++) {
      const inputs = Array.from(example.values.subarray(r * ROWS, (r + 1) * ROWS));
      const last = r === ROWS - 1;
      b.period(`row${r}`, rowMs, (k, n) => (last && k === n - 1 ? { inputs, targets: Array.from({ length: 10 }, (_, c) => (c === example.label ? 1 : 0)), mask: 1 } : { inputs }));
    }
    return b.build();
  },
});
