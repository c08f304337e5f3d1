/**
 * `npm run bench`: training-step throughput of the reference workload — MLP
 * 784-256-256-10, batch 128, backprop, Adam — through the real trainer on MNIST,
 * and a check that the tensor count stays flat from step to step.
 *
 *   npm run bench                       # the default backend
 *   npm run bench -- --backends wasm,cpu --steps 200
 */
import * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../register.js';
import { initBackend, parseBackendChoice, type BackendChoice } from '../src/backend.js';
import { parse, parseFlag } from '../src/options.js';
import { train } from '../src/trainer.js';

interface BenchResult {
  backend: string;
  steps: number;
  msPerStep: number;
  examplesPerSec: number;
  tensorsFirst: number;
  tensorsLast: number;
  tensorGrowth: boolean;
}

async function benchMlp(backend: BackendChoice, steps: number): Promise<BenchResult> {
  const name = await initBackend(backend);
  const out = mkdtempSync(join(tmpdir(), 'biocredit-bench-'));
  const counts: number[] = [];
  try {
    const s = await train(
      {
        backend,
        dataset: 'mnist',
        model: 'mlp',
        modelOptions: { hidden: [256, 256] },
        rule: 'bp',
        optimizer: 'adam',
        lr: 1e-3,
        batchSize: 128,
        steps,
        logEvery: 0,
        seed: 0,
      },
      { out, reporter: { progress: () => counts.push(tf.memory().numTensors) } },
    );
    // The first few steps create the optimizer's slots; the count must be flat afterwards.
    const steady = counts.slice(5);
    return {
      backend: name,
      steps,
      msPerStep: (1000 * 128) / s.examplesPerSec,
      examplesPerSec: s.examplesPerSec,
      tensorsFirst: steady[0]!,
      tensorsLast: steady.at(-1)!,
      tensorGrowth: new Set(steady).size !== 1,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const program = new Command('bench')
  .option('--backends <list>', 'comma-separated backends to measure (auto, node, wasm, cpu)', 'auto')
  .option('--steps <n>', 'training steps per backend', '300')
  .option('--json', 'machine-readable output')
  .action(async (o: { backends: string; steps: string; json?: boolean }) => {
    const steps = parseFlag('--steps', o.steps, parse.positiveInt);
    const results: BenchResult[] = [];
    for (const b of o.backends.split(',')) results.push(await benchMlp(parseBackendChoice(b, '--backends'), steps));
    if (o.json) {
      process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    } else {
      process.stdout.write('MLP 784-256-256-10, batch 128, bp + adam, MNIST\n');
      for (const r of results) {
        process.stdout.write(
          `  ${r.backend.padEnd(10)} ${r.msPerStep.toFixed(2).padStart(8)} ms/step  ${Math.round(r.examplesPerSec).toString().padStart(7)} examples/s  ` +
            `tensors ${r.tensorsFirst} → ${r.tensorsLast} over ${r.steps} steps${r.tensorGrowth ? '  GROWTH' : ''}\n`,
        );
      }
    }
    if (results.some((r) => r.tensorGrowth)) {
      process.stderr.write('bench: the tensor count grew across steps (a leak)\n');
      process.exitCode = 1;
    }
  });

await program.parseAsync(process.argv);
