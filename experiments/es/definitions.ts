/**
 * The evolution-strategies experiments (a)–(c), run by `experiments/es/run.ts`:
 * each arm is one `biocredit train` command, run once per seed. The settings
 * are biocredit's own: Hazelden et al. 2023 publish neither their constants
 * nor their ES variant, so the arms use the standard Morris–Lecar sets
 * and rates chosen from short pilot runs (stated in `differences`).
 */

export interface EsArm {
  label: string;
  /** `biocredit train` flags other than --seed and --out. */
  args: string[];
}

export interface EsExperiment {
  name: string;
  title: string;
  source: string;
  arms: EsArm[];
  /** The test measure compared: decision accuracy, or the ROBER MAE on scaled species (task measure `scaledMae`). */
  metric: 'accuracy' | 'scaledMae';
  differences: string[];
}

const mnist = ['--dataset', 'mnist-mini', '--model', 'mlp', '--hidden', '64', '--log-every', '5'];

/** (a) ES on MNIST beside backprop, compared at equal wall time. */
export const esMnist: EsExperiment = {
  name: 'mnist',
  title: 'OpenAI-ES vs backprop on mnist-mini, MLP 784-64-10, at equal wall time',
  source: 'evosax OpenES on an MNIST CNN (128,874 parameters, population 256, 512 generations): 0.97 test accuracy; EvoJAX OpenES 0.967',
  arms: [
    { label: 'es', args: [...mnist, '--rule', 'es', '--population', '256', '--steps', '500', '--eval-every', '25'] },
    { label: 'bp', args: [...mnist, '--rule', 'bp', '--optimizer', 'adam', '--lr', '1e-3', '--batch-size', '64', '--epochs', '10'] },
  ],
  metric: 'accuracy',
  differences: [
    'an MLP with 50,890 parameters on mnist-mini instead of the CNN on the full 60k/10k set (a generation of the CNN protocol evaluates 256 CNNs on the batch; not run)',
    'OpenAI-ES with biocredit’s defaults: σ 0.04, antithetic pairs, centered ranks, Adam 0.01 on the mean, batch 256 per generation',
  ],
};

const ml = ['--model', 'morris-lecar', '--units', '20', '--step-ms', '0.5', '--batch-size', '32', '--eval-every', '10', '--log-every', '1'];
const esArm = (task: string[], steps: number, sigma: number, lr: number, label = 'es'): EsArm => ({ label, args: [...task, ...ml, '--rule', 'es', '--population', '32', '--sigma', String(sigma), '--es-lr', String(lr), '--steps', String(steps)] });
const bpttArm = (task: string[], steps: number): EsArm => ({ label: 'bptt', args: [...task, ...ml, '--rule', 'bptt', '--optimizer', 'adam', '--lr', '0.01', '--steps', String(steps)] });
const mlDifferences = [
  'Morris–Lecar constants: the Hopf (class II) set of Rinzel & Ermentrout with kinetic synapses (a_r 1.1, a_d 0.19 ms⁻¹), 80% excitatory, bias current 80, input scale 20; the paper’s own are not public',
  '20 neurons, exp-euler substeps of 0.5 ms (the default is 0.05 ms) so that a BPTT step takes seconds, not minutes',
  'ES: OpenAI-ES, population 32, Adam on the mean; BPTT: Adam 0.01, its gradient norm logged every step (a gradient rule’s update norm); both at batch 32, rates chosen from 30-step pilots',
];

/** (b) ES vs BPTT through a Morris–Lecar network: evidence integration. */
export const esMorrisLecarIntegration: EsExperiment = {
  name: 'morris-lecar-integration',
  title: 'ES vs BPTT on a Morris–Lecar network: evidence integration (perceptual decision, 200 ms stimulus)',
  source: 'Hazelden, Liu, Shlizerman, Shea-Brown 2023 (arXiv 2311.10869): BPTT through Morris–Lecar networks is unstable on stiff, long trials; ES trains them (numbers not public)',
  arms: ((task) => [esArm(task, 80, 0.2, 0.05), bpttArm(task, 80)])(['--task', 'perceptual-decision', '--stimulus-ms', '200', '--decision-ms', '50', '--dt', '10', '--evidence-noise', '0.5']),
  metric: 'accuracy',
  differences: [...mlDifferences, 'ES σ 0.2, Adam 0.05 (a pilot at σ 0.3, Adam 0.1 with evidence noise 1 stayed at chance for 30 steps)', 'trials: fixation 100 ms, stimulus 200 ms, decision 50 ms at dt 10 ms (35 task steps, 700 substeps), evidence noise 0.5 (default 1)'],
};

/** (b) ES vs BPTT through a Morris–Lecar network: working memory. */
export const esMorrisLecarMemory: EsExperiment = {
  name: 'morris-lecar-memory',
  title: 'ES vs BPTT on a Morris–Lecar network: working memory (cue 50 ms, delay 100 ms)',
  source: esMorrisLecarIntegration.source,
  arms: ((task) => [esArm(task, 80, 0.3, 0.1), esArm(task, 80, 0.1, 0.03, 'es-sigma0.1'), bpttArm(task, 80)])(['--task', 'working-memory', '--delay-ms', '100']),
  metric: 'accuracy',
  differences: [...mlDifferences, 'ES σ 0.3, Adam 0.1 (piloted); es-sigma0.1: σ 0.1, Adam 0.03, added after the first arm’s training loss rose', 'trials: fixation 50 ms, cue 50 ms, delay 100 ms, response 100 ms at dt 10 ms (30 task steps, 600 substeps)'],
};

const rober = (scaling: string) => ['--dataset', 'rober', '--scaling', scaling, '--model', 'neural-ode', '--substeps', '4', '--eval-every', '25', '--log-every', '5'];

/** (c) The stiff ROBER benchmark: ES vs backprop, with and without per-species scaling. */
export const esRober: EsExperiment = {
  name: 'rober',
  title: 'ROBER neural ODE (188 parameters): ES vs backprop, scaled and unscaled',
  source: 'Kim, Ji, Deng, Ma, Rackauckas 2021 (Chaos), DENG-MIT/StiffNeuralODE: with per-species scaling the neural ODE fits all three species (AdamW 0.005); Hazelden et al. 2023 report ES beating backprop on it (numbers not public)',
  arms: [
    { label: 'bp-scaled', args: [...rober('max'), '--rule', 'bp', '--optimizer', 'adam', '--lr', '0.005', '--steps', '200'] },
    { label: 'es-scaled', args: [...rober('max'), '--rule', 'es', '--population', '32', '--sigma', '0.05', '--steps', '200'] },
    { label: 'bp-unscaled', args: [...rober('none'), '--rule', 'bp', '--optimizer', 'adam', '--lr', '0.005', '--steps', '200'] },
    { label: 'es-unscaled', args: [...rober('none'), '--rule', 'es', '--population', '32', '--sigma', '0.05', '--steps', '200'] },
  ],
  metric: 'scaledMae',
  differences: [
    'Adam 0.005 without weight decay for backprop (Kim et al.: AdamW 0.005)',
    'the network integrated with 4 explicit rk4 substeps between observations (Kim et al. use an implicit solver), 200 updates (theirs: thousands)',
    'ES: OpenAI-ES, population 32, σ 0.05, Adam 0.01 on the mean',
  ],
};

export const ES_EXPERIMENTS = [esMnist, esMorrisLecarIntegration, esMorrisLecarMemory, esRober];
