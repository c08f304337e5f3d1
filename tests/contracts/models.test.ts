/**
 * The contract every registered model keeps, one row per model (a model
 * without a row fails the suite): parameters as declared, constraints kept at
 * initialisation, outputs of the data's shape; a population of parameter sets
 * evaluated on one batch equals the members evaluated one by one (vectorised
 * for mlp and rnn, member by member for the others); and, for models with a
 * recurrent step, that step reproduces the forward pass with every size read
 * from the parameters by role.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { checkRequirements, provides } from '../../src/capabilities.js';
import { lossFor } from '../../src/losses.js';
import { resolveOptions } from '../../src/options.js';
import { member, populationLosses, populationOutputs } from '../../src/population.js';
import { models } from '../../src/registries.js';
import { Rng } from '../../src/rng.js';
import type { Batch, Dataset, Model, Params } from '../../src/types.js';
import { uncovered } from './coverage.js';
import { MODEL_ROWS as ROWS, type ModelRow as Row } from './model-rows.js';

async function build(name: string, row: Row): Promise<{ model: Model; params: Params; batch: Batch; dataset: Dataset }> {
  const entry = models.get(name);
  const dataset = await row.data();
  const model = entry.create(resolveOptions(`model ${name}`, entry.options ?? [], row.options), {
    inputShape: dataset.inputShape,
    outputSize: dataset.outputSize,
    ...(dataset.dtMs !== undefined ? { dtMs: dataset.dtMs } : {}),
  });
  const params = model.init(new Rng(`contract/${name}`));
  return { model, params, batch: dataset.batch('train', [0, 1, 2, 3, 4]), dataset };
}

describe('model contract table', () => {
  it('has a row for every registered model', () => {
    expect(uncovered().models).toEqual([]);
  });
});

const TABLE = Object.entries(ROWS).flatMap(([name, rows]) => rows.map((row) => ({ name, row, label: `${name} (${row.label})` })));

describe.each(TABLE)('model $label', ({ name, row }) => {
  it('initialises every declared parameter, keeps its constraints, and outputs the data’s shape', async () => {
    const { model, params, batch, dataset } = await build(name, row);
    expect(Object.keys(params).sort()).toEqual(Object.keys(model.specs).sort());
    expect(model.recurrent !== undefined).toBe(Boolean(row.recurrent));
    for (const [k, spec] of Object.entries(model.specs)) {
      expect(params[k]!.shape, k).toEqual(spec.shape);
      if (spec.constraint) expect(spec.constraint.violations(params[k]!), k).toBe(0);
    }
    const out = tf.tidy(() => model.forward(params, batch.x).output);
    const seq = dataset.inputShape.length === 2;
    expect(out.shape).toEqual(seq ? [5, dataset.inputShape[0]!, dataset.outputSize] : [5, dataset.outputSize]);
    expect(tf.all(tf.isFinite(out)).dataSync()[0]).toBe(1);
    tf.dispose([out, ...Object.values(params)]);
  });

  it('evaluates a population on one batch as its members one by one (within 1e-6)', async () => {
    const { model, params, batch, dataset } = await build(name, row);
    expect(typeof model.populationForward === 'function').toBe(row.vectorised);
    const rng = new Rng(`population/${name}`);
    const P = 3;
    const population: Params = {};
    for (const [k, spec] of Object.entries(model.specs)) {
      if (spec.trainable === false) continue;
      const base = params[k]!;
      population[k] = tf.tidy(() => tf.stack(Array.from({ length: P }, () => tf.add(base, tf.mul(0.1, tf.tensor(rng.normals(base.size), base.shape))))));
    }
    const before = tf.memory().numTensors;
    const together = populationOutputs(model, params, population, batch.x);
    const losses = populationLosses(model, params, population, batch, lossFor(dataset.loss));
    expect(tf.memory().numTensors).toBe(before + 2);
    const loss = lossFor(dataset.loss);
    for (let p = 0; p < P; p++) {
      const [single, value] = tf.tidy(() => {
        const out = model.forward(member(params, population, p), batch.x).output;
        return [out, loss.value(out, batch)];
      });
      const got = tf.tidy(() => tf.squeeze(tf.slice(together, [p], [1]), [0]));
      expect(got.shape).toEqual(single.shape);
      const scale = Math.max(1, tf.max(tf.abs(single)).dataSync()[0]!);
      expect(tf.max(tf.abs(tf.sub(got, single))).dataSync()[0]! / scale).toBeLessThan(1e-6);
      expect(Math.abs(losses.dataSync()[p]! - value.dataSync()[0]!) / Math.max(1, Math.abs(value.dataSync()[0]!))).toBeLessThan(1e-6);
      tf.dispose([single, value, got]);
    }
    // The members differ, so the comparison is not vacuous.
    expect(losses.dataSync()[0]).not.toBe(losses.dataSync()[1]);
    tf.dispose([together, losses, ...Object.values(population), ...Object.values(params)]);
  });
});

describe.each(TABLE.filter((t) => t.row.recurrent))('recurrent model $label', ({ name, row }) => {
  it('steps through time as its forward pass does, reading sizes from the parameters by role', async () => {
    const { model, params, batch } = await build(name, row);
    const rec = model.recurrent!;
    const { roles } = rec;
    for (const role of Object.values(roles)) expect(Object.keys(model.specs), role).toContain(role);
    const [units, outputs] = params[roles.readout]!.shape as [number, number];
    expect(params[roles.recurrent]!.shape).toEqual([units, units]);
    expect(params[roles.input]!.shape[1]).toBe(units);
    tf.tidy(() => {
      const { output, trace } = model.forward(params, batch.x);
      let state = rec.initState(params, 5);
      const steps = tf.unstack(batch.x, 1) as tf.Tensor2D[];
      const zs: tf.Tensor[] = [];
      const rates: tf.Tensor[] = [];
      for (const u of steps) {
        const s = rec.step(params, state, u);
        state = s.state;
        zs.push(s.output);
        rates.push(s.activity);
        expect(s.output.shape).toEqual([5, outputs]);
      }
      // The forward pass may run the whole trial at once (the rnn's native kernels): equal up to float32 rounding.
      const same = (a: tf.Tensor, b: tf.Tensor) => {
        const [x, y] = [a.dataSync(), b.dataSync()];
        expect(x.length).toBe(y.length);
        x.forEach((v, i) => expect(Math.abs(v - y[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(y[i]!))));
      };
      same(tf.stack(zs, 1), output);
      same(tf.stack(rates, 1), trace[0]!.post);
      if (model.rate) expect(Array.from(state[model.rate.potential]!.shape)).toEqual([5, units]);
    });
    if (roles.feedback) {
      // Output feedback takes the network off the plain rate equation: the rules and analyses that assume it refuse it.
      expect(model.rate).toBeUndefined();
      expect(() => checkRequirements('rule eprop', ['recurrent', 'rate-dynamics'], model)).toThrow('rule eprop needs rate dynamics; model rnn does not provide them');
      expect(provides(model, 'output-feedback')).toBe(true);
      // Teacher forcing: the target fed back instead of the network's own output changes the next step.
      tf.tidy(() => {
        const u = tf.unstack(batch.x, 1)[0] as tf.Tensor2D;
        const s0 = rec.initState(params, 5);
        const own = rec.step(params, rec.step(params, s0, u).state, u).output;
        const forced = rec.step(params, rec.step(params, s0, u).state, u, { feedback: tf.onesLike(own) as tf.Tensor2D }).output;
        expect(tf.max(tf.abs(tf.sub(own, forced))).dataSync()[0]).toBeGreaterThan(1e-4);
      });
    } else {
      expect(provides(model, 'output-feedback')).toBe(false);
      expect(() => tf.tidy(() => rec.step(params, rec.initState(params, 5), tf.unstack(batch.x, 1)[0] as tf.Tensor2D, { feedback: tf.zeros([5, outputs]) }).output)).toThrow(/no output feedback/);
    }
    tf.dispose(Object.values(params));
  });
});
