/**
 * `npm run bench`: training-step throughput through the real trainer on MNIST,
 * with backprop and Adam, for two workloads — MLP 784-256-256-10 at batch 128 and
 * LeNet-5 at batch 64 — and a check that the tensor count stays flat from step
 * to step; and curvature (`hessian`): for a 784-256-256-10 MLP trained one epoch
 * with backprop, the time of one gradient and one exact Hessian-vector product
 * over the first 10,000 training examples, and of its top eigenvalue by Lanczos;
 * and the temporal rules (`rnn-bptt`, `rnn-tbptt`, `rnn-eprop`, `rnn-rflo`,
 * `rnn-modprop`): ms per step of a rate RNN with N = 256, batch 32, T = 200;
 * and GEVB (`vnn-gevb`, `vnn-bp`, `mlp-1024`): a VNN with hidden widths
 * 1024, 512 under gevb and bp beside a conventional MLP of the same widths;
 * and target-based training (`full-force-300`, `full-force-1000`, `force-1000`):
 * ms per time step of one chirp trial (500 steps of 1 ms) per training step;
 * and evolution strategies (`es-mlp`): ms per generation of OpenAI-ES with 256
 * members on an MLP 784-64-10 (generations per second = 1000 / ms per step);
 * and `morris-lecar`: simulated ms per wall second of a 100-neuron network.
 *
 *   npm run bench                                   # both workloads, default backend
 *   npm run bench -- --backends wasm,cpu --workloads mlp --steps 200
 *   npm run bench -- --workloads hessian
 *   npm run bench -- --workloads rnn-bptt,rnn-rflo
 *   python3 bench/pytorch.py > torch.jsonl && npm run bench -- --workloads mlp,lenet,rnn-bptt,rnn-rflo --compare-file torch.jsonl
 */
import * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../register.js';
import { initBackend, parseBackendChoice, type BackendChoice } from '../src/backend.js';
import { UsageError } from '../src/errors.js';
import { loadRun } from '../src/run.js';
import { LossSurface, selectParams } from '../src/analysis/hvp.js';
import { gaussianVec, lanczosTopK } from '../src/analysis/spectrum.js';
import { parse, parseFlag, resolveOptions } from '../src/options.js';
import { models, rules } from '../src/registries.js';
import { Rng } from '../src/rng.js';
import { train } from '../src/trainer.js';

interface Workload {
  title: string;
  model: string;
  modelOptions: Record<string, unknown>;
  batchSize: number;
  rule?: string;
  ruleOptions?: Record<string, unknown>;
  /** A dataset other than MNIST. */
  dataset?: string;
  /** A task instead of MNIST. */
  task?: { name: string; options: Record<string, unknown> };
  /** Most steps measured (recurrent rules are slow per step). */
  maxSteps?: number;
  /** Time steps per trial, for rules that train one trial per step (ms per time step is reported). */
  timeSteps?: number;
}

/** One 500 ms chirp trial per training step (dt 1 ms), at the rule's own settings. */
const leastSquaresWorkload = (rule: string, units: number): Workload => ({
  title: `RNN N = ${units}, one 500-step chirp trial per step, ${rule}`,
  model: 'rnn',
  modelOptions: { units },
  batchSize: 1,
  rule,
  task: { name: 'chirp', options: { durationMs: 500, trials: 8, testTrials: 1 } },
  maxSteps: 6,
  timeSteps: 500,
});

/** Rate RNN, N = 256 (80% excitatory, tanh), batch 32, T = 200 steps: a 50 ms pulse and 1950 ms of output at dt = 10 ms. */
const rnnWorkload = (rule: string): Workload => ({
  title: `RNN N = 256 (Dale 0.8, tanh), batch 32, T = 200, ${rule}`,
  model: 'rnn',
  modelOptions: { units: 256, activation: 'tanh', dale: 0.8 },
  batchSize: 32,
  rule,
  task: { name: 'pattern', options: { dt: 10, durationMs: 1950, trials: 256, testTrials: 32 } },
  maxSteps: 20,
});

const WORKLOADS: Record<string, Workload> = {
  mlp: { title: 'MLP 784-256-256-10, batch 128, bp', model: 'mlp', modelOptions: { hidden: [256, 256] }, batchSize: 128 },
  lenet: { title: 'LeNet-5 (c6k5-m2-c16k5v-m2-d120-d84), batch 64, bp', model: 'convnet', modelOptions: { arch: 'c6k5-m2-c16k5v-m2-d120-d84' }, batchSize: 64 },
  ...Object.fromEntries(['bptt', 'tbptt', 'eprop', 'rflo', 'modprop'].map((r) => [`rnn-${r}`, rnnWorkload(r)])),
  'vnn-gevb': { title: 'VNN 784·10-1024-512-1 (K = 10), batch 128, gevb', model: 'vnn', modelOptions: { hidden: [1024, 512] }, batchSize: 128, rule: 'gevb', maxSteps: 40 },
  'vnn-bp': { title: 'VNN 784·10-1024-512-1 (K = 10), batch 128, bp', model: 'vnn', modelOptions: { hidden: [1024, 512] }, batchSize: 128, maxSteps: 40 },
  'mlp-1024': { title: 'MLP 784-1024-512-10, batch 128, bp', model: 'mlp', modelOptions: { hidden: [1024, 512] }, batchSize: 128, maxSteps: 40 },
  'full-force-300': leastSquaresWorkload('full-force', 300),
  'full-force-1000': leastSquaresWorkload('full-force', 1000),
  'force-1000': leastSquaresWorkload('force', 1000),
  // One ES generation per step: 256 members of 50,890 parameters on one batch of 256 (the cosine's backward pass off).
  'es-mlp': { title: 'MLP 784-64-10 on mnist-mini, batch 256, es (openai), population 256', dataset: 'mnist-mini', model: 'mlp', modelOptions: { hidden: [64] }, batchSize: 256, rule: 'es', ruleOptions: { population: 256, cosine: 'off' }, maxSteps: 20 },
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

async function bench(workload: string, backend: BackendChoice, maxSteps: number): Promise<BenchResult> {
  const w = WORKLOADS[workload]!;
  const steps = Math.min(maxSteps, w.maxSteps ?? maxSteps);
  const name = await initBackend(backend);
  const out = mkdtempSync(join(tmpdir(), 'biocredit-bench-'));
  const counts: number[] = [];
  try {
    const s = await train(
      {
        backend,
        ...(w.task ? { task: w.task.name, datasetOptions: w.task.options } : { dataset: w.dataset ?? 'mnist' }),
        model: w.model,
        modelOptions: w.modelOptions,
        rule: w.rule ?? 'bp',
        ...(w.ruleOptions ? { ruleOptions: w.ruleOptions } : {}),
        // Update rules (RLS) take no optimizer.
        ...(rules.get(w.rule ?? 'bp').output === 'gradient' ? { optimizer: 'adam' as const, lr: 1e-3 } : {}),
        batchSize: w.batchSize,
        steps,
        logEvery: 0,
        diagEvery: 0,
        seed: 0,
      },
      { out, reporter: { progress: () => counts.push(tf.memory().numTensors) } },
    );
    // The first few steps create the optimizer's slots; the count must be flat afterwards.
    const steady = counts.slice(Math.min(5, Math.floor(steps / 4)));
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

interface HessianBench {
  workload: 'hessian';
  backend: string;
  points: number;
  params: number;
  gradSec: number;
  hvpSec: number;
  /** HVP time / gradient time. */
  ratio: number;
  lambdaMax: number;
  lanczosHvps: number;
  lanczosSec: number;
  tensorGrowth: boolean;
}

async function benchHessian(backend: BackendChoice, points = 10_000): Promise<HessianBench> {
  const name = await initBackend(backend);
  const out = mkdtempSync(join(tmpdir(), 'biocredit-bench-'));
  try {
    await train(
      { backend, dataset: 'mnist', model: 'mlp', modelOptions: { hidden: [256, 256] }, rule: 'bp', epochs: 1, batchSize: 128, logEvery: 0, diagEvery: 0, seed: 0 },
      { out },
    );
    const run = await loadRun(out);
    const surface = new LossSurface(run.model, run.params, run.dataset, { split: 'train', points }, selectParams(run.model));
    const v = gaussianVec(new Rng('bench'), surface.dim);
    surface.lossAndGrad();
    surface.apply(v);
    const before = tf.memory().numTensors;
    const time = (f: () => void, n: number) => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) f();
      return (performance.now() - t0) / 1000 / n;
    };
    const gradSec = time(() => surface.lossAndGrad(), 3);
    const hvpSec = time(() => surface.apply(v), 3);
    const t0 = performance.now();
    const top = lanczosTopK(surface, 1, new Rng('bench-lanczos'));
    const lanczosSec = (performance.now() - t0) / 1000;
    const tensorGrowth = tf.memory().numTensors !== before;
    surface.dispose();
    tf.dispose(Object.values(run.params));
    if (run.init) tf.dispose(Object.values(run.init));
    return {
      workload: 'hessian',
      backend: name,
      points: surface.n,
      params: surface.dim,
      gradSec,
      hvpSec,
      ratio: hvpSec / gradSec,
      lambdaMax: top.values[0]!,
      lanczosHvps: top.matvecs,
      lanczosSec,
      tensorGrowth,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

interface SimulationBench {
  workload: string;
  backend: string;
  neurons: number;
  batch: number;
  stepMs: number;
  /** Simulated milliseconds per wall-clock second (the batch's trials advance together). */
  simulatedMsPerSec: number;
  tensorGrowth: boolean;
}

/** A 100-neuron Morris–Lecar network (hopf, exp-euler, 0.05 ms substeps) run forward over 200 ms of noisy input, batch 1 and 16. */
async function benchMorrisLecar(backend: BackendChoice): Promise<SimulationBench[]> {
  const name = await initBackend(backend);
  const [dtMs, ms] = [10, 200];
  const T = ms / dtMs;
  const entry = models.get('morris-lecar');
  const model = entry.create(resolveOptions('model morris-lecar', entry.options ?? [], { units: 100 }), { inputShape: [T, 2], outputSize: 1, dtMs });
  const params = model.init(new Rng('bench-ml'));
  const out: SimulationBench[] = [];
  for (const batch of [1, 16]) {
    const u = tf.randomNormal([batch, T, 2], 0, 1, 'float32', 1);
    tf.tidy(() => model.forward(params, u).output.dataSync());
    const before = tf.memory().numTensors;
    const t0 = performance.now();
    tf.tidy(() => model.forward(params, u).output.dataSync());
    const sec = (performance.now() - t0) / 1000;
    out.push({ workload: 'morris-lecar', backend: name, neurons: 100, batch, stepMs: 0.05, simulatedMsPerSec: ms / sec, tensorGrowth: tf.memory().numTensors !== before });
    u.dispose();
  }
  tf.dispose(Object.values(params));
  return out;
}

const ALL = [...Object.keys(WORKLOADS), 'hessian', 'morris-lecar'];

/** The lines of a --compare-file, by workload; a bad line is refused naming the file and the line. */
function readReference(file: string): Map<string, { msPerStep: number; label: string }> {
  if (!existsSync(file)) throw new UsageError(`--compare-file ${file}: no such file`);
  const out = new Map<string, { msPerStep: number; label: string }>();
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      let r: { workload?: unknown; msPerStep?: unknown; torch?: unknown };
      try {
        r = JSON.parse(line) as typeof r;
      } catch {
        throw new UsageError(`--compare-file ${file}, line ${i + 1}: not JSON`);
      }
      if (typeof r.workload !== 'string' || typeof r.msPerStep !== 'number' || !(r.msPerStep > 0)) {
        throw new UsageError(`--compare-file ${file}, line ${i + 1}: expected {"workload": name, "msPerStep": a positive number}`);
      }
      out.set(r.workload, { msPerStep: r.msPerStep, label: typeof r.torch === 'string' ? `torch ${r.torch}` : 'reference' });
    });
  return out;
}

const program = new Command('bench')
  .option('--backends <list>', 'comma-separated backends to measure (auto, node, wasm, cpu)', 'auto')
  .option('--workloads <list>', `comma-separated workloads: ${ALL.join(', ')}`, ALL.join(','))
  .option('--steps <n>', 'training steps per workload and backend', '150')
  .option('--json', 'machine-readable output')
  .option('--compare-file <file>', "another framework's ms per step, one JSON object per line {workload, msPerStep} (bench/pytorch.py's output): printed beside each workload with the ratio; the temporal rules are set beside its rnn-bptt")
  .action(async (o: { backends: string; workloads: string; steps: string; json?: boolean; compareFile?: string }) => {
    const steps = parseFlag('--steps', o.steps, parse.positiveInt);
    const reference = o.compareFile ? readReference(o.compareFile) : new Map<string, { msPerStep: number; label: string }>();
    const workloads = o.workloads.split(',').map((x) => parseFlag('--workloads', x, parse.choice(ALL)));
    const results: BenchResult[] = [];
    const curvature: HessianBench[] = [];
    const simulation: SimulationBench[] = [];
    for (const workload of workloads) {
      for (const b of o.backends.split(',')) {
        const backend = parseBackendChoice(b, '--backends');
        if (workload === 'hessian') curvature.push(await benchHessian(backend));
        else if (workload === 'morris-lecar') simulation.push(...(await benchMorrisLecar(backend)));
        else results.push(await bench(workload, backend, steps));
      }
    }
    if (o.json) {
      process.stdout.write(`${JSON.stringify([...results, ...curvature, ...simulation], null, 2)}\n`);
    } else {
      for (const m of simulation) {
        process.stdout.write(
          `Morris–Lecar network, ${m.neurons} neurons, ${m.stepMs} ms substeps (exp-euler), batch ${m.batch}\n  ${m.backend.padEnd(10)} ${m.simulatedMsPerSec.toFixed(1)} simulated ms per wall second (all ${m.batch} trials together)${m.tensorGrowth ? '  GROWTH' : ''}\n`,
        );
      }
      for (const h of curvature) {
        process.stdout.write(
          `Curvature: MLP 784-256-256-10 (${h.params.toLocaleString('en-US')} parameters) after 1 epoch of bp, Hessian over ${h.points.toLocaleString('en-US')} MNIST training examples\n` +
            `  ${h.backend.padEnd(10)} gradient ${h.gradSec.toFixed(2)} s, exact HVP ${h.hvpSec.toFixed(2)} s (${h.ratio.toFixed(2)}× a gradient); ` +
            `λ_max = ${h.lambdaMax.toFixed(3)} by Lanczos in ${h.lanczosHvps} HVPs, ${h.lanczosSec.toFixed(1)} s${h.tensorGrowth ? '  GROWTH' : ''}\n`,
        );
      }
      for (const r of results) {
        process.stdout.write(
          `${WORKLOADS[r.workload]!.title}${rules.get(WORKLOADS[r.workload]!.rule ?? 'bp').output === 'gradient' ? ' + adam' : ''}, ${WORKLOADS[r.workload]!.task?.name ?? WORKLOADS[r.workload]!.dataset ?? 'MNIST'}\n  ${r.backend.padEnd(10)} ${r.msPerStep.toFixed(2).padStart(8)} ms/step  ${Math.round(r.examplesPerSec).toString().padStart(7)} examples/s  ` +
            (WORKLOADS[r.workload]!.timeSteps ? `${(r.msPerStep / WORKLOADS[r.workload]!.timeSteps!).toFixed(2)} ms per time step  ` : '') +
            `tensors ${r.tensorsFirst} → ${r.tensorsLast} over ${r.steps} steps${r.tensorGrowth ? '  GROWTH' : ''}\n`,
        );
        const ref = reference.get(r.workload) ?? (r.workload.startsWith('rnn-') ? reference.get('rnn-bptt') : undefined);
        if (ref) process.stdout.write(`  ${ref.label.padEnd(10)} ${ref.msPerStep.toFixed(2).padStart(8)} ms/step  (biocredit / it: ${(r.msPerStep / ref.msPerStep).toFixed(2)}×${r.workload.startsWith('rnn-') && r.workload !== 'rnn-bptt' ? ', its BPTT' : ''})\n`);
      }
    }
    if (results.some((r) => r.tensorGrowth) || curvature.some((h) => h.tensorGrowth)) {
      process.stderr.write('bench: the tensor count grew across steps (a leak)\n');
      process.exitCode = 1;
    }
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  process.stderr.write(`bench: error: ${e.message}\n`);
  process.exitCode = 2;
}
