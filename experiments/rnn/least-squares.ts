/**
 * Target-based training (the FORCE / full-FORCE issue's experiments), run by
 * `experiments/tasks.ts` with `biocredit compare`. Trials of these tasks are
 * all alike (chirp, sum-of-sines), so a few distinct ones suffice; each
 * training step is one trial.
 */
import type { TaskExperiment } from '../types.js';

/** (a) The Python notebook: full-FORCE on the 1 → 5 Hz chirp, N = 300, 100 training trials. */
export const fullForceChirp: TaskExperiment = {
  name: 'full-force-chirp',
  title: 'full-FORCE on the 1 → 5 Hz chirp, N = 300, 100 trials (the full-FORCE demos’ Python notebook)',
  source: 'briandepasquale/full-FORCE-demos, Python/full-FORCE demo.ipynb (stored output): normalized test error Σ(z − f)²/Σf² = 1.655e-5 after 10 × 10 training trials',
  rules: ['full-force'],
  args: ['--task', 'chirp', '--model', 'rnn', '--units', '300', '--steps', '100', '--eval-every', '10'],
  published: { 'full-force': 'normalized test error 1.655e-5 (one network)' },
  differences: [
    'every trial starts both networks from rest (x = 0); the notebook runs one continuous simulation from a random state, with 3 unclamped warm-up trials',
    'the student’s W_in ~ N(0, 1) (the model’s initialisation) and the teacher shares it; the notebook draws W_in ~ U(−1, 1) and gives the teacher its own',
    'the teacher is integrated exactly (the MATLAB demos); the notebook integrates it by Euler (`--teacher-integration euler`)',
    'float32 throughout (P symmetrised every 100 updates); the notebook uses float64',
    'test: the 10 test trials are identical, each from rest with the final weights; the notebook tests 10 trials of its continuous run after 5 warm-up trials',
  ],
};

/** (b) The MATLAB comparison fF_v_F.m: full-FORCE vs FORCE on the 1.5 → 4.5 Hz chirp at N = 100, 200, 300. */
export const fullForceVsForce: TaskExperiment = {
  name: 'full-force-vs-force',
  title: 'full-FORCE vs FORCE on the oscillation task over N (the full-FORCE demos’ fF_v_F.m)',
  source: 'DePasquale et al. 2018 (PLoS ONE), Fig. 2 and the MATLAB demo fF_v_F.m: full-FORCE reaches a given error with fewer units than FORCE; DTRLS 2, dt 1 ms, τ 10 ms, g 1.5, 200 training and 50 test trials',
  rules: ['full-force', 'force'],
  args: [
    '--task', 'chirp', '--sweep', '1.5-4.5', '--trials', '50', '--test-trials', '1',
    '--model', 'rnn', '--sparsity', '1', '--update-times', 'random',
    '--grid', 'units=100,200,300',
    '--steps', '50', '--eval-every', '10',
  ],
  published: { 'full-force': 'lower error than FORCE at every N (Fig. 2)', force: '—' },
  differences: [
    '50 training trials per network instead of 200 (one core, about 5 s per trial at N = 300); trials start from rest',
    'FORCE here: dense J with g = 1.5, feedback U(−1, 1), an update at each step with probability 1/2, as in fF_v_F.m (the rule’s own defaults are the 2009 paper’s sparse network updated every 2 steps)',
    'test: one trial from rest with the final weights (all trials are alike); the MATLAB demo runs 50 test trials continuously',
  ],
};

/** (c) FORCE's four-sine target (Sussillo & Abbott 2009, Fig. 2), N = 1000. */
export const forceFourSines: TaskExperiment = {
  name: 'force-four-sines',
  title: 'FORCE on the sum of four sines, N = 1000 (Sussillo & Abbott 2009, Fig. 2)',
  source: 'Sussillo & Abbott 2009 (Neuron) Fig. 2 and their script: N 1000, p 0.1, g 1.5, feedback U(−1, 1), dt 0.1τ, an update every 2 steps, 1440τ of training, then 1440τ of testing; test MAE ≈ 0.036 reported for a reproduction of the script',
  rules: ['force'],
  args: ['--task', 'sum-of-sines', '--model', 'rnn', '--steps', '10', '--eval-every', '2'],
  published: { force: 'test MAE ≈ 0.036' },
  differences: [
    'training is 10 trials of 1440τ, each from rest with a 50 ms start pulse that sets the phase, instead of one continuous 1440τ run; the test is one more such trial with learning off',
    'τ = 10 ms, dt = 1 ms (dt = 0.1τ as in the script)',
  ],
};

/** (e) E/I full-FORCE on the chirp: the sign-constrained solve vs projected RLS. */
export const eiFullForceChirp: TaskExperiment = {
  name: 'ei-full-force-chirp',
  title: 'E/I full-FORCE on the 1 → 5 Hz chirp, 80% excitatory: NNLS vs projected RLS (Ingrosso & Abbott 2019)',
  source: 'Ingrosso & Abbott 2019 (PLoS ONE): E/I rate networks (N 500, half-tanh) learn the chirp with sign-constrained target-based learning, learning interval 1 s, and stay balanced; their solver is not public',
  rules: ['full-force'],
  args: ['--task', 'chirp', '--trials', '50', '--test-trials', '1', '--model', 'rnn', '--units', '300', '--dale', '0.8', '--grid', 'dale-solver=nnls,projected', '--steps', '50', '--eval-every', '10'],
  published: { 'full-force': 'signs kept; balanced E and I currents' },
  differences: ['N = 300 tanh units instead of 500 half-tanh units; 50 training trials; no output feedback to the student (full-FORCE’s teacher carries it)', 'the windowed solve accumulates Σ rᵀr from the first trial on (ridge α = 1), solved every 1000 steps and at each trial’s end'],
};

/** (d) Ready-set-go in full-FORCE's form, with and without the ramp hint (DePasquale et al. 2018, Fig. 4). */
export const fullForceReadySetGo: TaskExperiment = {
  name: 'full-force-ready-set-go',
  title: 'full-FORCE on ready-set-go with and without the ramp hint, N = 300 (DePasquale et al. 2018)',
  source: 'DePasquale et al. 2018 (PLoS ONE) and the MATLAB demo_ready_set_go.m: N 1000, DTRLS 1, delays 0.1–2.1 s, 1000 training and 500 test trials; the hint makes the task learnable (without it the network does not time the interval)',
  rules: ['full-force'],
  args: [
    '--task', 'ready-set-go', '--form', 'bump', '--min-interval', '150', '--max-interval', '2150', '--dt', '1', '--trials', '100', '--test-trials', '20',
    '--model', 'rnn', '--units', '300', '--update-every', '1',
    '--grid', 'hint=ramp,none',
    '--steps', '100', '--eval-every', '25',
  ],
  published: { 'full-force': 'with the hint: intervals produced across 0.1–2.1 s; without: not learned' },
  differences: [
    'N = 300 instead of 1000 and 100 training trials instead of 1000 (one core: about 5 s per trial); 20 test trials',
    'ready and set share one input channel (the demo uses two); every trial starts from rest, with 100 ms of baseline before ready instead of an exponential inter-trial interval',
  ],
};
