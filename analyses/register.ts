/**
 * Registers the analyses of this folder. The order is the order `analyze` runs
 * them in, and the order of their table columns and figures.
 */
import { analyses } from '../src/registries.js';
import { dynamics } from './dynamics.js';
import { gap } from './gap.js';
import { geometry } from './geometry.js';
import { hessian } from './hessian.js';
import { implicitBiasAnalysis } from './implicit-bias.js';
import { inputJacobian } from './input-jacobian.js';
import { margin } from './margin.js';
import { richLazyAnalysis } from './rich-lazy.js';
import { sharpness } from './sharpness.js';

for (const analysis of [hessian, gap, sharpness, geometry, inputJacobian, richLazyAnalysis, dynamics, implicitBiasAnalysis, margin]) analyses.register(analysis);
