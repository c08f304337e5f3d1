/** Registers the models of this folder. */
import { models } from '../src/registries.js';
import { convnetOptions, createConvnet, type ConvnetOptions } from './convnet.js';
import { createMlp, mlpOptions, type MlpOptions } from './mlp.js';

models.register({
  name: 'mlp',
  description: 'fully connected network, --hidden widths, --activation, Kaiming/Xavier/normal init',
  reference: 'Rumelhart, Hinton, Williams 1986',
  options: mlpOptions,
  create: (o, data) => createMlp(o as unknown as MlpOptions, data),
});

models.register({
  name: 'convnet',
  description: 'convolutional network from a compact --arch spec; default LeNet-5 (c6k5-m2-c16k5v-m2-d120-d84)',
  reference: 'LeCun, Bottou, Bengio, Haffner 1998',
  options: convnetOptions,
  create: (o, data) => createConvnet(o as unknown as ConvnetOptions, data),
});
