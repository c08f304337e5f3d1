/**
 * How well does an evolution-strategies estimate point along the gradient,
 * as the population grows? For an MLP 784-32-10 on mnist-mini at its
 * initialisation, the `es` rule's OpenAI-ES estimate is formed on one fixed
 * batch of 256 examples in G independent generations (θ is not moved), and its
 * cosine with the autodiff gradient on the same batch is recorded. For raw
 * fitness, antithetic pairs and small σ the estimate is (1/n) Σ_k ε_k ε_kᵀ ∇L
 * over n pairs, whose cosine with ∇L is about √(n/(n + d + 1)) in d dimensions;
 * the table puts that beside the measured mean.
 *
 *   node dist/experiments/es/cosine.js [--populations 8,32,128,512] [--generations 10]
 */
import * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import '../../register.js';
import { initBackend } from '../../src/backend.js';
import { lossFor } from '../../src/losses.js';
import { parse, parseFlag, resolveOptions } from '../../src/options.js';
import { datasets, models, rules } from '../../src/registries.js';
import { Rng } from '../../src/rng.js';
import { countParams } from '../../src/tensors.js';

const program = new Command('es-cosine')
  .option('--populations <list>', 'population sizes', '8,32,128,512')
  .option('--generations <n>', 'independent generations per population and shaping', '10')
  .action(async (o: { populations: string; generations: string }) => {
    const populations = parseFlag('--populations', o.populations, parse.intList);
    const G = parseFlag('--generations', o.generations, parse.positiveInt);
    const backend = await initBackend('auto');
    const started = Date.now();
    const dataEntry = datasets.get('mnist-mini');
    const data = await dataEntry.load(resolveOptions('dataset mnist-mini', dataEntry.options ?? [], {}), { seed: 0 });
    const modelEntry = models.get('mlp');
    const model = modelEntry.create(resolveOptions('model mlp', modelEntry.options ?? [], { hidden: [32] }), { inputShape: data.inputShape, outputSize: data.outputSize });
    const params = model.init(new Rng('es-cosine/init'));
    const batch = data.batch('train', Array.from({ length: 256 }, (_, i) => i));
    const loss = lossFor(data.loss);
    const d = countParams(model.specs);
    const lines = [
      `MLP 784-32-10 (d = ${d.toLocaleString('en-US')}) on mnist-mini at initialisation, one batch of 256, OpenAI-ES (σ 0.04, antithetic), ${G} generations per row; ${new Date().toISOString().slice(0, 10)}, backend ${backend}.`,
      '',
      '| population | pairs n | shaping | cosine with ∇L, mean ± sd | √(n/(n + d + 1)) |',
      '|---|---|---|---|---|',
    ];
    for (const P of populations) {
      for (const shaping of ['raw', 'centered-rank'] as const) {
        const entry = rules.get('es');
        const rule = entry.create(resolveOptions('rule es', entry.options ?? [], { population: P, shaping, cosine: 'on' }));
        const state = rule.init(model, params, new Rng('es-cosine/rule'));
        const cosines: number[] = [];
        for (let g = 0; g < G; g++) {
          const out = rule.step({ model, params, batch, loss, state, step: 0, rng: new Rng(`es-cosine/${P}/${g}`) });
          cosines.push(out.metrics!['gradientCosine']!.dataSync()[0]!);
          tf.dispose([out.loss, out.output, ...Object.values(out.updates), ...Object.values(out.metrics ?? {}), ...Object.values(out.state?.tensors ?? {})]);
        }
        tf.dispose(Object.values(state.tensors));
        const mean = cosines.reduce((a, b) => a + b, 0) / G;
        const sd = Math.sqrt(cosines.reduce((a, c) => a + (c - mean) ** 2, 0) / Math.max(1, G - 1));
        const n = P / 2;
        lines.push(`| ${P} | ${n} | ${shaping} | ${mean.toFixed(4)} ± ${sd.toFixed(4)} | ${Math.sqrt(n / (n + d + 1)).toFixed(4)} |`);
        process.stderr.write(`population ${P} ${shaping}: ${mean.toFixed(4)}\n`);
      }
    }
    lines.push('', `Wall time ${((Date.now() - started) / 60000).toFixed(1)} min.`);
    process.stdout.write(`${lines.join('\n')}\n`);
  });

await program.parseAsync();
