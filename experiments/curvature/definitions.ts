/**
 * The curvature, rich/lazy and compression studies (run by experiments/curvature/run.ts):
 * each is one or more `biocredit compare` arms, then `biocredit analyze` calls on
 * every run, then a report of the measures against each other.
 */

export type StudyKind = 'gap-vs-sharpness' | 'rich-lazy' | 'compression';

/** One `biocredit compare` of a study, in its own directory <out>/<name>. */
export interface StudyArm {
  name: string;
  /** compare flags other than --seeds, --jobs, --out. */
  args: string[];
  /** `biocredit analyze` calls for this arm instead of the study's. */
  analyze?: string[][];
}

export interface Study {
  name: string;
  kind: StudyKind;
  title: string;
  source: string;
  /** What the paper reports, for the table's heading. */
  published: string;
  arms: StudyArm[];
  /** `biocredit analyze` calls run on every arm, in order (results accumulate in each run's analysis.json). */
  analyze: string[][];
  /** What differs from the paper's protocol. */
  differences: string[];
}

/** λ_max over J and the gap, recorded every 500 steps on 256 examples (both Liu et al. 2022 studies). */
const J_RECORDS = ['--analyze-every', '500', '--analyze', 'hessian,gap', '--analyze-points', '256', '--analyze-params', 'rnn/J'];

const SEQ_MNIST = [
  '--task', 'seq-mnist', '--source', 'mnist-mini',
  '--model', 'rnn', '--units', '128', '--activation', 'relu', '--dt', '10', '--tau', '10',
  '--optimizer', 'sgd', '--lr', '0.01', '--weight-decay', '0.01', '--batch-size', '256', '--steps', '1500', '--eval-every', '100',
  ...J_RECORDS,
];

/** Liu, Ghosh, Richards, Shea-Brown, Lajoie 2022 (NeurIPS; arXiv 2206.00823): temporal rules end in sharper minima. */
export const liu2022SeqMnist: Study = {
  name: 'liu2022-seq-mnist',
  kind: 'gap-vs-sharpness',
  title: 'Temporal rules, curvature and generalization on sequential MNIST (Liu et al. 2022)',
  source: 'Liu, Ghosh, Richards, Shea-Brown, Lajoie 2022 (arXiv 2206.00823); code Helena-Yuhan-Liu/BiolHessRNN (LIF networks of 128 units, 80 input channels, SGD 1e-2, L2 1e-2, batch 256; 10,000 iterations for BPTT, 16,000 for the three-factor rule; λ_max of the loss Hessian over the recurrent weights by power iteration, ≤ 500 iterations, |Δλ| < 1e-6)',
  published: 'approximate rules (e-prop-like three-factor rules, ModProp) reach higher λ_max over W_rec and a larger, more variable generalization gap than BPTT; gap and λ_max correlate',
  arms: [
    { name: 'rules', args: ['--rules', 'bptt,tbptt,eprop,rflo', ...SEQ_MNIST, '--window', '5'] },
    { name: 'modprop-ei', args: ['--rules', 'modprop', ...SEQ_MNIST, '--dale', '0.8'] },
  ],
  analyze: [['--hessian', 'top-k=1', '--params', 'rnn/J', '--points', '500', '--tol', '1e-6', '--max-iter', '100']],
  differences: [
    'a rate RNN (x ← f(x)J + u W_in + b, ReLU, dt = τ so α = 1) instead of LIF spiking units; 28 pixel inputs per row instead of 80 threshold-crossing channels',
    'mnist-mini (8,000 training / 2,000 test digits) and 1,500 iterations (47 epochs) instead of full MNIST and 10,000–16,000 iterations, to fit the compute of one 2-core machine',
    'λ_max by Lanczos with full re-orthogonalisation (relative tolerance 1e-6, ≤ 100 products) on the first 500 training sequences, instead of power iteration on a training batch; the same eigenvalue of the same operator',
    'ModProp needs cell types, so it runs on an E/I network (--dale 0.8); the other rules on an unsigned one (with --dale 0.8, BPTT itself reached only 24–55% test accuracy in 1,500 iterations in a first attempt)',
    'truncated BPTT cuts the gradient every 5 steps; e-prop uses symmetric feedback (W_outᵀ), RFLO random feedback',
  ],
};

const DECISION = [
  '--task', 'perceptual-decision', '--fixation-ms', '100', '--stimulus-ms', '700', '--decision-ms', '100', '--dt', '20', '--tau', '100', '--trials', '1024', '--test-trials', '1024',
  '--model', 'rnn', '--units', '128', '--activation', 'relu',
  '--optimizer', 'sgd', '--lr', '0.05', '--weight-decay', '0.01', '--batch-size', '32', '--steps', '3000', '--eval-every', '250',
  ...J_RECORDS,
];

/** The same question on a neurogym-style task, with a larger learning rate late in training as the remedy. */
export const liu2022Decision: Study = {
  name: 'liu2022-decision',
  kind: 'gap-vs-sharpness',
  title: 'Temporal rules, curvature and generalization on perceptual decision making, and a late learning-rate increase (Liu et al. 2022)',
  source: liu2022SeqMnist.source,
  published: `${liu2022SeqMnist.published}; the paper also suggests remedies the brain could use`,
  arms: [
    { name: 'rules', args: ['--rules', 'bptt,tbptt,eprop,rflo', ...DECISION, '--window', '5'] },
    { name: 'modprop-ei', args: ['--rules', 'modprop', ...DECISION, '--dale', '0.8'] },
    { name: 'late-lr', args: ['--rules', 'bptt,tbptt,eprop,rflo', ...DECISION, '--window', '5', '--grid', 'lr-decay=4', '--lr-decay-every', '2000'] },
  ],
  analyze: liu2022SeqMnist.analyze,
  differences: [
    'a rate RNN (ReLU, τ = 100 ms, dt = 20 ms) on biocredit\'s perceptual decision task (100 ms fixation, 700 ms noisy evidence, 100 ms decision; answer ±1 under squared error), 1,024 training and 1,024 test trials, 3,000 iterations of SGD 0.05 (batch 32, L2 1e-2)',
    'the paper\'s remedy section could not be read offline; the late-lr arm tests the remedy that stability suggests (SGD with step η does not stay where the curvature along its update exceeds 2/η, so a larger η late in training should leave sharp regions): the learning rate is multiplied by 4 at iteration 2,000 (--lr-decay 4 --lr-decay-every 2000)',
    'ModProp runs on an E/I network (--dale 0.8) and without the late-lr arm',
  ],
};

const RICH_LAZY = [
  '--dt', '100', '--trials', '32000', '--test-trials', '320',
  '--model', 'rnn', '--units', '300', '--tau', '100', '--activation', 'relu', '--gain', '1.25', '--no-bias',
  '--optimizer', 'momentum', '--momentum', '0.9', '--lr', '0.003', '--batch-size', '32', '--steps', '10000', '--eval-every', '1000', '--final-train-eval', '3200',
  '--rules', 'bptt', '--grid', 'init-rank=1,30,100,300',
];

/** Liu, Baratin, Cornford, Mihalas, Shea-Brown, Lajoie 2023 (arXiv 2310.08513): the rank of the initial connectivity sets rich vs lazy learning. */
export const liu2023RichLazy: Study = {
  name: 'liu2023-rich-lazy',
  kind: 'rich-lazy',
  title: 'Rich vs lazy learning and the rank of the initial recurrent matrix (Liu et al. 2023)',
  source: 'Liu, Baratin, Cornford, Mihalas, Shea-Brown, Lajoie 2023 (arXiv 2310.08513); code Helena-Yuhan-Liu/BioRNN_RichLazy (main.py: discrete ReLU RNN, N = 300, no biases, W₀ = 1.25·N(0, 1)/√N truncated to rank r and rescaled to its full Frobenius norm, SGD 0.003 momentum 0.9, batch 32, 10,000 iterations; neurogym tasks at dt 100 ms; probe set of 320 trials drawn before training)',
  published: 'lower initial rank → richer learning: larger ‖ΔW‖, lower tangent-kernel and representation alignment (except low-rank initialisations aligned with the task)',
  arms: [
    { name: 'perceptual-decision', args: ['--task', 'perceptual-decision', '--fixation-ms', '0', '--stimulus-ms', '700', '--decision-ms', '100', ...RICH_LAZY] },
    { name: 'match-to-sample', args: ['--task', 'match-to-sample', '--fixation-ms', '0', '--sample-ms', '100', '--delay-ms', '500', '--test-ms', '100', '--decision-ms', '100', ...RICH_LAZY] },
    { name: 'context-decision', args: ['--task', 'context-decision', '--stimulus-ms', '200', '--delay-ms', '500', '--decision-ms', '100', ...RICH_LAZY] },
    {
      name: 'seq-mnist',
      args: [
        '--task', 'seq-mnist', '--source', 'mnist-mini', '--dt', '10', '--tau', '10',
        '--model', 'rnn', '--units', '300', '--activation', 'relu', '--gain', '1.25', '--no-bias',
        '--optimizer', 'momentum', '--momentum', '0.9', '--lr', '0.003', '--batch-size', '200', '--steps', '2000', '--eval-every', '500',
        '--rules', 'bptt', '--grid', 'init-rank=5,30,300',
      ],
      // The loss reads the last row only, and so does the reference's kernel.
      analyze: [['--rich-lazy', '--probe-trials', '320', '--kernel-trials', '32', '--kernel-steps', 'scored', '--no-gap']],
    },
  ],
  analyze: [['--rich-lazy', '--probe-trials', '320', '--kernel-trials', '32', '--no-gap']],
  differences: [
    'the answer is one output, ±1 under squared error over the decision period (biocredit\'s decision tasks), instead of neurogym\'s fixate/choice classes under cross-entropy at every step; so the tangent kernel runs over T·1 outputs per trial instead of T·3',
    'a fixed pool of 32,000 training trials (10 passes over 10,000 iterations) instead of fresh neurogym trials every iteration; the probe set is the first 320 test trials',
    'W_in ~ N(0, 1/inputs) and W_out ~ N(0, 1/N) instead of PyTorch\'s uniform nn.Linear initialisation; each seed draws its own W₀ (the reference truncates one draw for every rank, as here within a seed)',
    'perceptual decision: neurogym\'s two evidence channels without its fixation input; match-to-sample: 8 directions as (cos θ, sin θ); context decision: two modalities of two channels and two context channels',
    'one learning rate (the reference picks the best of a list per rank; its default list is this one rate)',
    'sequential MNIST (the reference: ranks 5, 30, 300, batch 200, 10,000 iterations on 55,000 digits) runs 2,000 iterations on mnist-mini (8,000 digits; about 50 epochs), to fit one 2-core machine; its probe set is the first 320 test digits, its one scored step the last row, and its tangent kernel runs over the last row\'s 10 outputs (--kernel-steps scored), as the reference\'s',
  ],
};

/** Training-time records of the trace and the output's compression measures: every other epoch for the MLPs, every epoch for LeNet (three in the second half of training for each). */
const RECORDS = ['--analyze', 'hessian,input-jacobian', '--analyze-trace', '60', '--analyze-points', '512', '--eval-every', '0'];
const MNIST = ['--dataset', 'mnist', '--optimizer', 'sgd', ...RECORDS];
const MLP = ['--model', 'mlp', '--hidden', '256,256', '--activation', 'relu', '--epochs', '10', ...MNIST];
/** Steps in n epochs of the 60,000 MNIST training images (the last batch of an epoch may be short). */
const epochSteps = (batch: number, n: number) => String(n * Math.ceil(60000 / batch));

/** Chen, Recanatesi, Shea-Brown 2023 (arXiv 2310.01770): flatter minima, less compression. */
export const chen2023Compression: Study = {
  name: 'chen2023-compression',
  kind: 'compression',
  title: 'Flatness and compression of the representation, MLPs and LeNet on MNIST (Chen et al. 2023)',
  source: 'Chen, Recanatesi, Shea-Brown 2023 (arXiv 2310.01770); no public code: the measures are computed from the paper\'s definitions',
  published: 'sharpness (trace of the loss Hessian) correlates positively with the local volumetric ratio and the maximum local sensitivity of the representation, not with its local dimensionality; the sensitivity is bounded by the weights\' norm and the trace',
  arms: [
    { name: 'bp-32', args: ['--rules', 'bp', ...MLP, '--grid', 'lr=0.01,0.05,0.2', '--grid', 'batch-size=32', '--analyze-every', epochSteps(32, 2)] },
    { name: 'bp-256', args: ['--rules', 'bp', ...MLP, '--grid', 'lr=0.01,0.05,0.2', '--grid', 'batch-size=256', '--analyze-every', epochSteps(256, 2)] },
    { name: 'fa-dfa', args: ['--rules', 'fa,dfa', ...MLP, '--lr', '0.05', '--batch-size', '32', '--analyze-every', epochSteps(32, 2)] },
    { name: 'lenet', args: ['--rules', 'bp', '--model', 'convnet', '--epochs', '4', ...MNIST, '--grid', 'lr=0.02,0.1', '--grid', 'batch-size=64', '--analyze-every', epochSteps(64, 1)] },
  ],
  analyze: [],
  differences: [
    'MLPs 784-256-256-10 (ReLU, 10 epochs) and LeNet-5 (c6k5-m2-c16k5v-m2-d120-d84, 4 epochs); the paper also trains VGG-style CNNs and transformers on CIFAR-10',
    'late-training checkpoints are the records taken during training (every other epoch for the MLPs, every epoch for LeNet) in the second half of each run; the spread comes from learning rate, batch size, rule and seed',
    'the Hessian is that of the cross-entropy loss over the first 512 training examples (trace by Hutch++ with 60 products); the measures are those of the output, averaged over the same 512 examples',
    'the bound check uses the Gauss–Newton trace over the first layer (the Hessian trace of the squared-error loss at a zero-residual minimum, the setting of the paper\'s bound); LeNet\'s first layer is a convolution, so it has no bound',
  ],
};

export const STUDIES: Study[] = [liu2022SeqMnist, liu2022Decision, liu2023RichLazy, chen2023Compression];
