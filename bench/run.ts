/**
 * `npm run bench`: training-step throughput through the real trainer on MNIST,
 * with backprop and Adam, for two workloads — MLP 784-256-256-10 at batch 128 and
 * LeNet-5 at batch 64 — and a check that the tensor count stays flat from step
 * to step.
 *
 *   npm run bench                                   # both workloads, default backend
 *   npm run bench -- --backends wasm,cpu --workloads mlp --steps 200
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

interface Workload {
  title: string;
  model: string;
  modelOptions: Record<string, unknown>;
  batchSize: number;
}

const WORKLOADS: Record<string, Workload> = {
  mlp: { title: 'MLP 784-256-256-10, batch 128', model: 'mlp', modelOptions: { hidden: [256, 256] }, batchSize: 128 },
  lenet: { title: 'LeNet-5 (c6k5-m2-c16k5v-m2-d120-d84), batch 64', model: 'convnet', modelOptions: { arch: 'c6k5-m2-c16k5v-m2-d120-d84' }, batchSize: 64 },
};

interface BenchResult {
  workload: string;
  backend: string;
  steps: number;
  msPerStep: number;
  examplesPerSec: number;
  tensorsFirst: number;
  tensorsLast: number;
  tensorGrowth: boolean;
}

async function bench(workload: string, backend: BackendChoice, steps: number): Promise<BenchResult> {
  const w = WORKLOADS[workload]!;
  const name = await initBackend(backend);
  const out = mkdtempSync(join(tmpdir(), 'biocredit-bench-'));
  const counts: number[] = [];
  try {
    const s = await train(
      {
        backend,
        dataset: 'mnist',
        model: w.model,
        modelOptions: w.modelOptions,
        rule: 'bp',
        optimizer: 'adam',
        lr: 1e-3,
        batchSize: w.batchSize,
        steps,
        logEvery: 0,
        diagEvery: 0,
        seed: 0,
      },
      { out, reporter: { progress: () => counts.push(tf.memory().numTensors) } },
    );
    // The first few steps create the optimizer's slots; the count must be flat afterwards.
    const steady = counts.slice(5);
    return {
      workload,
      backend: name,
      steps,
      msPerStep: (1000 * w.batchSize) / s.examplesPerSec,
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
  .option('--workloads <list>', `comma-separated workloads: ${Object.keys(WORKLOADS).join(', ')}`, Object.keys(WORKLOADS).join(','))
  .option('--steps <n>', 'training steps per workload and backend', '150')
  .option('--json', 'machine-readable output')
  .action(async (o: { backends: string; workloads: string; steps: string; json?: boolean }) => {
    const steps = parseFlag('--steps', o.steps, parse.positiveInt);
    const workloads = o.workloads.split(',').map((x) => parseFlag('--workloads', x, parse.choice(Object.keys(WORKLOADS))));
    const results: BenchResult[] = [];
    for (const workload of workloads) {
      for (const b of o.backends.split(',')) results.push(await bench(workload, parseBackendChoice(b, '--backends'), steps));
    }
    if (o.json) {
      process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    } else {
      for (const r of results) {
        process.stdout.write(
          `${WORKLOADS[r.workload]!.title}, bp + adam, MNIST\n  ${r.backend.padEnd(10)} ${r.msPerStep.toFixed(2).padStart(8)} ms/step  ${Math.round(r.examplesPerSec).toString().padStart(7)} examples/s  ` +
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
