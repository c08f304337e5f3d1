/** Registers the datasets of this folder (the MNIST family in mnist.ts) and, through tasks/register.ts, the tasks. */
import { datasets } from '../src/registries.js';
import { fashionMnist, idx, kmnist, mnist, mnistMini } from './mnist.js';
import './tasks/register.js';

for (const dataset of [mnist, mnistMini, fashionMnist, kmnist, idx]) datasets.register(dataset);
