/** Registers the models of this folder (each defined in its own file). */
import { models } from '../src/registries.js';
import { convnet } from './convnet.js';
import { gln } from './gln.js';
import { morrisLecar } from './morris-lecar.js';
import { mlp } from './mlp.js';
import { neuralOde } from './neural-ode.js';
import { rnn } from './rnn.js';
import { vnn, vnnConv } from './vnn.js';

for (const model of [mlp, convnet, rnn, vnn, vnnConv, gln, morrisLecar, neuralOde]) models.register(model);
