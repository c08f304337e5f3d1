/**
 * The per-step scan: a loop over time whose every step runs in its own tidy,
 * so only the carry (state, traces, running sums) survives a step and memory
 * stays bounded however many steps run (FORCE and full-FORCE run 10⁴–10⁶ steps
 * per trial). The carry is any object or array of tensors; tensors the step
 * reads from outside (parameters, inputs) are left alone.
 */
import * as tf from '@tensorflow/tfjs';

/** Every tensor reachable from `value` (objects and arrays, any depth). */
function tensorsIn(value: unknown, out: tf.Tensor[] = []): tf.Tensor[] {
  if (value instanceof tf.Tensor) out.push(value);
  else if (Array.isArray(value)) for (const v of value) tensorsIn(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) tensorsIn(v, out);
  return out;
}

/**
 * One step: `fn` maps the carry to the next inside a tidy (its temporaries are
 * freed), then the tensors of the old carry that the new one does not reuse are
 * disposed. The old carry belongs to the scan: do not keep references to it.
 */
export function scanStep<C>(carry: C, fn: (carry: C) => C): C {
  const next = tf.tidy(() => fn(carry) as unknown as tf.TensorContainer) as unknown as C;
  const kept = new Set(tensorsIn(next).map((t) => t.id));
  for (const t of tensorsIn(carry)) if (!kept.has(t.id) && !t.isDisposed) t.dispose();
  return next;
}

/** Runs `fn` for t = 0 … steps − 1 from `carry` (owned by the scan from then on) and returns the last carry. */
export function scan<C>(carry: C, steps: number, fn: (carry: C, t: number) => C): C {
  let c = carry;
  for (let t = 0; t < steps; t++) c = scanStep(c, (x) => fn(x, t));
  return c;
}
