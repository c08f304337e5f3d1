/** Registers the learning rules of this folder. */
import { rules } from '../src/registries.js';
import { createBackprop } from './bp.js';
import { createBptt, createTbptt, windowOption } from './bptt.js';
import { createEprop } from './eprop.js';
import { createGevb } from './gevb.js';
import { createModprop, modpropOptions, type ModpropOptions } from './modprop.js';
import { createRflo } from './rflo.js';
import { feedbackOption, onlineFeedbackScaleOption, type OnlineOptions } from './temporal.js';
import { creditOptions, feedbackScaleOption, type CreditOptions } from './common.js';
import { createDfa, dfaConvOption, type DfaOptions } from './dfa.js';
import { createFa, type FaOptions } from './fa.js';
import { createBrsf } from './brsf.js';
import { createFrsf, type RandomSignOptions } from './frsf.js';
import { createUsf, signScaleOption, type UsfOptions } from './usf.js';

rules.register({
  name: 'bp',
  description: 'backpropagation: exact gradient by reverse-mode autodiff (any model)',
  reference: 'Rumelhart, Hinton, Williams 1986, Nature',
  options: creditOptions,
  create: (o) => createBackprop(o as unknown as CreditOptions),
});

rules.register({
  name: 'fa',
  description: 'feedback alignment: errors travel back through fixed random matrices F_l instead of W_lᵀ',
  reference: 'Lillicrap, Cownden, Tweed, Akerman 2016, Nat Commun',
  options: [...creditOptions, feedbackScaleOption],
  create: (o) => createFa(o as unknown as FaOptions),
});

rules.register({
  name: 'dfa',
  description: 'direct feedback alignment: the output error reaches each hidden layer through a fixed random matrix',
  reference: 'Nøkland 2016, NeurIPS',
  options: [...creditOptions, feedbackScaleOption, dfaConvOption],
  create: (o) => createDfa(o as unknown as DfaOptions),
});

rules.register({
  name: 'usf',
  description: 'uniform sign-concordant feedback: F_l = s·sign(W_l)',
  reference: 'Liao, Leibo, Poggio 2016, AAAI; Xiao et al. 2018',
  options: [...creditOptions, signScaleOption],
  create: (o) => createUsf(o as unknown as UsfOptions),
});

rules.register({
  name: 'frsf',
  description: 'fixed random-magnitude sign-concordant feedback: F_l = |M_l|⊙sign(W_l), M_l drawn once',
  reference: 'Liao, Leibo, Poggio 2016, AAAI (biotorch naming)',
  options: [...creditOptions, feedbackScaleOption],
  create: (o) => createFrsf(o as unknown as RandomSignOptions),
});

rules.register({
  name: 'brsf',
  description: 'batchwise random-magnitude sign-concordant feedback: F_l = |M_l|⊙sign(W_l), M_l redrawn per batch',
  reference: 'Liao, Leibo, Poggio 2016, AAAI (biotorch naming)',
  options: [...creditOptions, feedbackScaleOption],
  create: (o) => createBrsf(o as unknown as RandomSignOptions),
});

rules.register({
  name: 'bptt',
  description: 'backpropagation through time: exact gradient through the unrolled recurrent dynamics',
  reference: 'Werbos 1990, Proc IEEE',
  create: () => createBptt(),
});

rules.register({
  name: 'tbptt',
  description: 'truncated BPTT: the gradient through the state is cut every --window steps',
  reference: 'Williams & Peng 1990, Neural Comput',
  options: [windowOption],
  create: (o) => createTbptt(o as unknown as { window: number }),
});

rules.register({
  name: 'eprop',
  description: 'e-prop: presynaptic eligibility traces × postsynaptic f′ × a broadcast learning signal (online, no backward pass in time)',
  reference: 'Bellec et al. 2020, Nat Commun',
  options: [feedbackOption('symmetric'), onlineFeedbackScaleOption],
  create: (o) => createEprop(o as unknown as OnlineOptions),
});

rules.register({
  name: 'rflo',
  description: 'random-feedback local online learning: low-pass traces of f′·r × random-feedback error',
  reference: 'Murray 2019, eLife',
  options: [feedbackOption('random'), onlineFeedbackScaleOption],
  create: (o) => createRflo(o as unknown as OnlineOptions),
});

rules.register({
  name: 'modprop',
  description: "ModProp: e-prop's signal plus non-local credit over all delays through cell-type-averaged weights W_ab and a constant f′ = μ",
  reference: 'Liu, Smith, Mihalas, Shea-Brown, Sümbül 2022, NeurIPS',
  options: modpropOptions,
  create: (o) => createModprop(o as unknown as ModpropOptions),
});

rules.register({
  name: 'gevb',
  description: 'global error-vector broadcasting: every active vector unit takes the output error vector as its credit (vnn, vnn-conv)',
  reference: 'Clark, Abbott, Chung 2021, NeurIPS',
  create: () => createGevb(),
});
