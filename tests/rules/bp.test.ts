import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createMlp, mlpOptions } from '../../models/mlp.js';
import { activation } from '../../src/activations.js';
import { autodiffStep } from '../../src/grad.js';
import { lossFor } from '../../src/losses.js';
import { Rng } from '../../src/rng.js';
import type { Batch, Params } from '../../src/types.js';
import { optionDefaults } from '../../src/options.js';

const loss = lossFor('softmax-ce');

function maxRelErr(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.div(tf.max(tf.abs(tf.sub(a, b))), tf.add(tf.max(tf.abs(b)), 1e-12)).dataSync()[0]!);
}

describe('bp', () => {
  it.each(['tanh', 'relu', 'sigmoid'] as const)('equals the textbook backward pass (%s)', (act) => {
    const model = createMlp({ ...optionDefaults(mlpOptions), hidden: [7, 5], activation: act, init: 'xavier', initScale: 1 }, { inputShape: [6], outputSize: 4 });
    const rng = new Rng(`bp-${act}`);
    const params = model.init(rng);
    const batch: Batch = { x: tf.tensor(rng.normals(9 * 6), [9, 6]), y: tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3, 1], 'int32'), size: 9 };
    const { updates } = autodiffStep({ model, params, batch, loss });

    // δ_L = (softmax(a_L) − onehot(y)) / B;  δ_l = (δ_{l+1} W_{l+1}ᵀ) ⊙ f'(a_l);  ∂L/∂W_l = h_{l-1}ᵀ δ_l.
    const f = activation(act);
    const { trace } = model.forward(params, batch.x);
    let delta = loss.outputGrad(trace[2]!.pre, batch);
    for (let l = 2; l >= 0; l--) {
      const t = trace[l]!;
      expect(maxRelErr(updates[`l${l}/W`]!, tf.matMul(t.input.transpose(), delta))).toBeLessThan(1e-5);
      expect(maxRelErr(updates[`l${l}/b`]!, tf.sum(delta, 0))).toBeLessThan(1e-5);
      if (l > 0) {
        const below = trace[l - 1]!;
        delta = tf.mul(tf.matMul(delta, params[`l${l}/W`]!.transpose()), f.df(below.pre, below.post));
      }
    }
  });

  it('agrees with central finite differences of the loss', () => {
    const model = createMlp({ ...optionDefaults(mlpOptions), hidden: [4], activation: 'tanh', init: 'xavier', initScale: 1 }, { inputShape: [3], outputSize: 3 });
    const rng = new Rng('bp-fd');
    const params = model.init(rng);
    const batch: Batch = { x: tf.tensor(rng.normals(5 * 3), [5, 3]), y: tf.tensor1d([0, 1, 2, 1, 0], 'int32'), size: 5 };
    const { updates } = autodiffStep({ model, params, batch, loss });
    const lossAt = (p: Params) => tf.tidy(() => loss.value(model.forward(p, batch.x).output, batch).dataSync()[0]!);
    const eps = 1e-2;
    for (const name of ['l0/W', 'l1/W', 'l1/b']) {
      const base = params[name]!.dataSync() as Float32Array;
      const g = updates[name]!.dataSync();
      for (const i of [0, base.length - 1]) {
        const plus = Float32Array.from(base);
        const minus = Float32Array.from(base);
        plus[i]! += eps;
        minus[i]! -= eps;
        const fd =
          (lossAt({ ...params, [name]: tf.tensor(plus, params[name]!.shape) }) -
            lossAt({ ...params, [name]: tf.tensor(minus, params[name]!.shape) })) /
          (2 * eps);
        expect(Math.abs(fd - g[i]!)).toBeLessThan(2e-3 * Math.max(1, Math.abs(g[i]!)));
      }
    }
  });

  it('softmax-ce output error equals the autodiff gradient of the mean loss', () => {
    const rng = new Rng('ce');
    const out = tf.tensor(rng.normals(6 * 5), [6, 5]);
    const batch: Batch = { x: tf.zeros([6, 1]), y: tf.tensor1d([4, 0, 1, 2, 3, 4], 'int32'), size: 6 };
    const auto = tf.grad((o: tf.Tensor) => loss.value(o, batch))(out);
    expect(maxRelErr(loss.outputGrad(out, batch), auto)).toBeLessThan(1e-5);
  });
});
