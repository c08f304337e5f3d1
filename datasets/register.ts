/** Registers the datasets of this folder. */
import { datasets } from '../src/registries.js';
import { dataDirOption, loadIdxNamed, loadMnist, loadMnistMini, valOption, type MnistOptions } from './mnist.js';
import { transformOptions } from './transforms.js';

const idxOptions = [dataDirOption, valOption, ...transformOptions];
const asMnist = (o: Record<string, unknown>) => o as unknown as MnistOptions;

datasets.register({
  name: 'mnist',
  description: 'MNIST handwritten digits, canonical 60k train / 10k test (packaged, or IDX files in --data-dir)',
  reference: 'LeCun, Bottou, Bengio, Haffner 1998',
  options: idxOptions,
  load: async (o, ctx) => loadMnist(asMnist(o), ctx?.seed),
});

datasets.register({
  name: 'mnist-mini',
  description: '10k MNIST digits from the `mnist` package, fixed 8k train / 2k test split, for quick runs',
  reference: 'LeCun et al. 1998 (subset)',
  options: [valOption, ...transformOptions],
  load: async (o, ctx) => loadMnistMini(asMnist(o), ctx?.seed),
});

datasets.register({
  name: 'fashion-mnist',
  description: 'Fashion-MNIST clothing images, 60k/10k, from the IDX files in --data-dir',
  reference: 'Xiao, Rasul, Vollgraf 2017',
  options: idxOptions,
  load: async (o, ctx) => loadIdxNamed('fashion-mnist', asMnist(o), ctx?.seed),
});

datasets.register({
  name: 'kmnist',
  description: 'Kuzushiji-MNIST cursive Japanese characters, 60k/10k, from the IDX files in --data-dir',
  reference: 'Clanuwat et al. 2018',
  options: idxOptions,
  load: async (o, ctx) => loadIdxNamed('kmnist', asMnist(o), ctx?.seed),
});

datasets.register({
  name: 'idx',
  description: 'any classification set stored as the four standard IDX files in --data-dir',
  reference: 'IDX format of LeCun et al. 1998',
  options: idxOptions,
  load: async (o, ctx) => loadIdxNamed('idx', asMnist(o), ctx?.seed),
});
import './tasks/register.js';
