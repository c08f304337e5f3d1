/** Registers the toys: one line each. */
import { analyses, models, rules, tasks } from '../../src/registries.js';
import { taskEntry } from '../../datasets/tasks/task.js';
import { toyAnalysis } from './analysis.js';
import { toyModel } from './model.js';
import { toyRule } from './rule.js';
import { toyTask } from './task.js';

rules.register(toyRule);
models.register(toyModel);
tasks.register(taskEntry(toyTask));
analyses.register(toyAnalysis);
