/**
 * The live parameters of a run. Each parameter is a tf.Variable registered under
 * a name unique to this store (tfjs optimizers look variables up by name in a
 * process-wide table, and several runs may share a process), while the rest of
 * biocredit sees the stable short names of the model's specs.
 */
import * as tf from '@tensorflow/tfjs';
import type { Model, ParamSpec, Params } from './types.js';

let storeCounter = 0;

export function trainableNames(specs: Readonly<Record<string, ParamSpec>>): string[] {
  return Object.entries(specs)
    .filter(([, s]) => s.trainable !== false)
    .map(([k]) => k);
}

export function checkParams(specs: Readonly<Record<string, ParamSpec>>, params: Params, what: string): void {
  for (const [name, spec] of Object.entries(specs)) {
    const t = params[name];
    if (!t) throw new Error(`${what}: parameter ${name} is missing`);
    if (t.shape.join('×') !== spec.shape.join('×')) {
      throw new Error(`${what}: parameter ${name} has shape ${t.shape.join('×')}, expected ${spec.shape.join('×')}`);
    }
  }
}

export class ParamStore {
  readonly prefix = `p${++storeCounter}:`;
  private readonly vars: Record<string, tf.Variable> = {};

  /** Copies `initial` into variables (the caller keeps ownership of `initial`). */
  constructor(readonly model: Model, initial: Params) {
    checkParams(model.specs, initial, model.name);
    for (const [name, spec] of Object.entries(model.specs)) {
      this.vars[name] = tf.variable(initial[name]!, spec.trainable !== false, this.prefix + name);
    }
  }

  /** The variables under their short names, in spec order. */
  get values(): Params {
    return { ...this.vars };
  }

  variableName(name: string): string {
    return this.prefix + name;
  }

  trainable(): string[] {
    return trainableNames(this.model.specs);
  }

  /** Sets the named parameters (any subset) to new values of the same shapes. */
  assign(values: Params): void {
    for (const [name, v] of Object.entries(values)) {
      const target = this.vars[name];
      if (!target) throw new Error(`${this.model.name} has no parameter ${name}`);
      if (target.shape.join('×') !== v.shape.join('×')) {
        throw new Error(`parameter ${name} has shape ${target.shape.join('×')}, got ${v.shape.join('×')}`);
      }
      target.assign(v);
    }
  }

  /** Adds `delta` to the named parameters (rules that define their own step). */
  addDeltas(delta: Params): void {
    tf.tidy(() => {
      for (const [name, d] of Object.entries(delta)) this.vars[name]!.assign(tf.add(this.vars[name]!, d));
    });
  }

  /** Re-imposes every parameter constraint (nonnegativity, signs, masks). */
  project(): void {
    tf.tidy(() => {
      for (const [name, spec] of Object.entries(this.model.specs)) {
        if (spec.constraint) this.vars[name]!.assign(spec.constraint.project(this.vars[name]!));
      }
    });
  }

  dispose(): void {
    for (const v of Object.values(this.vars)) v.dispose();
  }
}
