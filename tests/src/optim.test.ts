/** The optimizer around tfjs's: a gradient rule trains a fixed set of parameters; the others are not touched. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Optimizer } from '../../src/optim.js';
import { ParamStore } from '../../src/params.js';
import type { Model } from '../../src/types.js';

const model: Model = {
  name: 'two',
  specs: { W: { shape: [2, 2], role: 'weight' }, b: { shape: [2], role: 'bias' } },
  init: () => ({ W: tf.ones([2, 2]), b: tf.ones([2]) }),
  forward: (p, x) => ({ output: tf.add(tf.matMul(x, p['W']!), p['b']!), trace: [] }),
};
const config = { name: 'adam' as const, lr: 0.1, momentum: 0, weightDecay: 0, clipNorm: 0 };
const fresh = () => {
  const init = model.init(null as never);
  const store = new ParamStore(model, init);
  tf.dispose(Object.values(init));
  return store;
};

describe('optimizer', () => {
  it('steps only the parameters the rule returns, and refuses a rule that changes that set', () => {
    const store = fresh();
    const opt = new Optimizer(config, store);
    opt.apply({ W: tf.ones([2, 2]) });
    expect(Array.from(store.values['b']!.dataSync())).toEqual([1, 1]);
    expect(Array.from(store.values['W']!.dataSync()).every((v) => v < 1)).toBe(true);
    expect(() => opt.apply({ W: tf.ones([2, 2]), b: tf.ones([2]) })).toThrow(/must train the same parameters at every step/);
    expect(() => opt.apply({ W: tf.ones([3]) })).toThrow(/the rule's update of W has shape 3, expected 2×2/);
    opt.dispose();
    store.dispose();
  });

  it('resumes a state saved with slots for more parameters than the rule now returns (they get zeros)', async () => {
    /** The optimizer state after one step on `updates`. */
    const savedAfter = async (updates: Record<string, tf.Tensor>) => {
      const store = fresh();
      const opt = new Optimizer(config, store);
      opt.apply(updates);
      const state = await opt.state();
      opt.dispose();
      store.dispose();
      return state;
    };
    const b = fresh();
    const resumed = new Optimizer(config, b);
    await resumed.restore(await savedAfter({ W: tf.ones([2, 2]), b: tf.zeros([2]) }));
    resumed.apply({ W: tf.ones([2, 2]) });
    expect(Array.from(b.values['b']!.dataSync())).toEqual([1, 1]);
    // A parameter the saved state never trained is still refused.
    const c = fresh();
    const other = new Optimizer(config, c);
    await other.restore(await savedAfter({ W: tf.ones([2, 2]) }));
    expect(() => other.apply({ W: tf.ones([2, 2]), b: tf.ones([2]) })).toThrow(/must train the same parameters/);
    for (const o of [resumed, other]) o.dispose();
    for (const s of [b, c]) s.dispose();
  });
});
