/** Registers the models of this folder. */
import { models } from '../src/registries.js';
import { convnetOptions, createConvnet, type ConvnetOptions } from './convnet.js';
import { createGln, glnOptions, type GlnOptions } from './gln.js';
import { createMlp, mlpOptions, type MlpOptions } from './mlp.js';
import { createRnn, rnnOptions, type RnnOptions } from './rnn.js';
import { createVnn, createVnnConv, vnnConvOptions, vnnOptions, type VnnConvOptions, type VnnOptions } from './vnn.js';

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

models.register({
  name: 'rnn',
  description: "continuous-time rate RNN (τ, Euler step dt/τ), --units, --gain, --sparsity, --dale E/I split, trainable --train-x0",
  reference: 'Song, Yang, Wang 2016; PsychRNN (Ehrlich et al. 2021)',
  options: rnnOptions,
  create: (o, data) => createRnn(o as unknown as RnnOptions, data),
});

models.register({
  name: 'vnn',
  description: 'vectorized nonnegative network: K-vector units, mixed-sign first layer, W ≥ 0 after it, ±1 gating vectors (--hidden)',
  reference: 'Clark, Abbott, Chung 2021, NeurIPS',
  options: vnnOptions,
  create: (o, data) => createVnn(o as unknown as VnnOptions, data),
});

models.register({
  name: 'vnn-conv',
  description: 'convolutional VNN: 3×3 vector conv layers with per-channel gating and 2×2 average pooling (--channels), then --hidden',
  reference: 'Clark, Abbott, Chung 2021, NeurIPS',
  options: vnnConvOptions,
  create: (o, data) => createVnnConv(o as unknown as VnnConvOptions, data),
});

models.register({
  name: 'gln',
  description: 'gated linear network: each unit picks one of 2^s weight vectors by s fixed random hyperplanes on the raw input (--gates, --hidden)',
  reference: 'Lippl, Abbott, Chung 2022',
  options: glnOptions,
  create: (o, data) => createGln(o as unknown as GlnOptions, data),
});
