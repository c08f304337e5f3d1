/**
 * Capabilities, not duck typing: a model provides capabilities through typed
 * fields (src/types.ts, Model), rules and analyses declare the ones they
 * require, and a mismatch is refused before any training or analysis with one
 * line naming both, e.g. `rule eprop needs a recurrent step and rate dynamics;
 * model mlp does not provide them`.
 */
import { UsageError } from './errors.js';
import type { Capability, GatedContexts, LayerInfo, Model, RateDynamics, Recurrent, VectorUnits } from './types.js';

/** How a requirement reads in an error message. */
const WORDING: Record<Capability, string> = {
  layers: 'weighted layers routed through layer ops',
  recurrent: 'a recurrent step',
  'output-feedback': 'output feedback into its recurrent step',
  'rate-dynamics': 'rate dynamics',
  'vector-units': 'vectorized units',
  'gated-contexts': 'gated contexts',
  homogeneous: 'homogeneity in its weights',
  differentiable: 'a differentiable forward pass',
};

const PLURAL = new Set<Capability>(['layers', 'rate-dynamics', 'vector-units', 'gated-contexts']);

export function provides(model: Model, capability: Capability): boolean {
  switch (capability) {
    case 'layers':
      return Boolean(model.layers?.length);
    case 'recurrent':
      return model.recurrent !== undefined;
    case 'output-feedback':
      return model.recurrent?.roles.feedback !== undefined;
    case 'rate-dynamics':
      return model.rate !== undefined && model.recurrent !== undefined;
    case 'vector-units':
      return model.vector !== undefined;
    case 'gated-contexts':
      return model.gated !== undefined;
    case 'homogeneous':
      return model.homogeneity !== undefined;
    case 'differentiable':
      return model.differentiable !== false;
  }
}

/** Throws a UsageError naming `who` (e.g. "rule eprop") and the model when a requirement is missing. */
export function checkRequirements(who: string, requires: readonly Capability[] | undefined, model: Model): void {
  const missing = (requires ?? []).filter((c) => !provides(model, c));
  if (!missing.length) return;
  const needs = missing.map((c) => WORDING[c]).join(' and ');
  throw new UsageError(`${who} needs ${needs}; model ${model.name} does not provide ${missing.length > 1 || PLURAL.has(missing[0]!) ? 'them' : 'it'}`);
}

/**
 * The typed capability of a model that was checked to provide it (a rule's
 * step after its requirements passed). Throws an Error (a bug, not a usage
 * error) when it is absent.
 */
function present<T>(value: T | undefined, model: Model, capability: Capability): T {
  if (value === undefined) throw new Error(`model ${model.name} does not provide ${WORDING[capability]}`);
  return value;
}

export const layersOf = (model: Model): readonly LayerInfo[] => present(model.layers?.length ? model.layers : undefined, model, 'layers');
export const recurrentOf = (model: Model): Recurrent => present(model.recurrent, model, 'recurrent');
export const rateOf = (model: Model): RateDynamics => present(model.rate, model, 'rate-dynamics');
export const vectorOf = (model: Model): VectorUnits => present(model.vector, model, 'vector-units');
export const gatedOf = (model: Model): GatedContexts => present(model.gated, model, 'gated-contexts');
