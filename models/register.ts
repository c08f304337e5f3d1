/** Registers the models of this folder. */
import { models } from '../src/registries.js';
import { createMlp, mlpOptions, type MlpOptions } from './mlp.js';

models.register({
  name: 'mlp',
  description: 'fully connected network, --hidden widths, --activation, Kaiming/Xavier/normal init',
  reference: 'Rumelhart, Hinton, Williams 1986',
  options: mlpOptions,
  create: (o, data) => createMlp(o as unknown as MlpOptions, data),
});
