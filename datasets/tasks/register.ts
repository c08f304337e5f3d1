/** Registers the trial-based tasks of this folder in the `tasks` registry. */
import { tasks } from '../../src/registries.js';
import { perceptualDecision } from './decision.js';
import { delayedComparison } from './delayed-comparison.js';
import { delayedXor } from './delayed-xor.js';
import { matchToSample } from './match-to-sample.js';
import { pattern } from './pattern.js';
import { readySetGo } from './ready-set-go.js';
import { seqMnist } from './seq-mnist.js';
import { taskEntry } from './task.js';

for (const task of [pattern, readySetGo, perceptualDecision, delayedComparison, matchToSample, delayedXor, seqMnist]) tasks.register(taskEntry(task));
