/** Registers the trial-based tasks of this folder in the `tasks` registry. */
import { tasks } from '../../src/registries.js';
import { perceptualDecision } from './decision.js';
import { delayedXor } from './delayed-xor.js';
import { pattern } from './pattern.js';
import { taskEntry } from './task.js';

for (const task of [pattern, perceptualDecision, delayedXor]) tasks.register(taskEntry(task));
