/** Registers the trial-based tasks of this folder in the `tasks` registry. */
import { tasks } from '../../src/registries.js';
import { chirp } from './chirp.js';
import { contextDecision } from './context-decision.js';
import { perceptualDecision } from './decision.js';
import { delayedComparison } from './delayed-comparison.js';
import { delayedXor } from './delayed-xor.js';
import { matchToSample } from './match-to-sample.js';
import { pattern } from './pattern.js';
import { readySetGo } from './ready-set-go.js';
import { seqMnist } from './seq-mnist.js';
import { sumOfSines } from './sum-of-sines.js';
import { taskEntry } from './task.js';
import { workingMemory } from './working-memory.js';

for (const task of [pattern, readySetGo, perceptualDecision, contextDecision, delayedComparison, matchToSample, delayedXor, seqMnist, chirp, sumOfSines, workingMemory]) tasks.register(taskEntry(task));
