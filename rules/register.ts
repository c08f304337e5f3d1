/** Registers the learning rules of this folder. */
import { rules } from '../src/registries.js';
import { createBackprop } from './bp.js';

rules.register({
  name: 'bp',
  description: 'backpropagation: exact gradient by reverse-mode autodiff (any model)',
  reference: 'Rumelhart, Hinton, Williams 1986, Nature',
  options: [],
  create: () => createBackprop(),
});
