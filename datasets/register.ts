/** Registers the datasets of this folder (the MNIST family in mnist.ts, the ROBER benchmark in rober.ts) and, through tasks/register.ts, the tasks. */
import { datasets } from '../src/registries.js';
import { fashionMnist, idx, kmnist, mnist, mnistMini } from './mnist.js';
import { rober } from './rober.js';
import './tasks/register.js';

for (const dataset of [mnist, mnistMini, fashionMnist, kmnist, idx, rober]) datasets.register(dataset);
