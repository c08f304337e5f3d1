/**
 * The command-line interface. Registries must be filled before `runCli` is
 * called (bin/biocredit.ts imports the register modules first).
 */
import * as tf from '@tensorflow/tfjs';
import { Command, CommanderError } from 'commander';
import { BiocreditError } from '../errors.js';
import { VERSION } from '../version.js';
import { infoCommand, listCommand } from './info.js';
import { analyzeCommand } from './analyze.js';
import { compareCommand } from './compare.js';
import { trainCommand } from './train.js';
import { workerCommand } from './worker.js';

export function buildProgram(): Command {
  const program = new Command('biocredit')
    .description('biologically plausible learning rules × models × tasks, with analysis, on TensorFlow.js')
    .version(VERSION, '-V, --version')
    .showSuggestionAfterError(true)
    .exitOverride();
  for (const cmd of [trainCommand(), compareCommand(), analyzeCommand(), workerCommand(), infoCommand(), listCommand()]) {
    program.addCommand(cmd.exitOverride().showSuggestionAfterError(true));
  }
  return program;
}

/** What to change after running out of memory, for the command that did. */
export function outOfMemoryAdvice(command: string | undefined): string {
  return command === 'analyze'
    ? 'analyse fewer examples (--points; --probe-trials and --kernel-trials for --rich-lazy); the runs and their stored results are unchanged'
    : 'use a smaller --batch-size or --eval-batch-size (or a smaller model); a run directory keeps its last checkpoint, continue it with --resume';
}

/** Runs the CLI; returns the process exit code. Errors become one line on stderr. */
export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander has printed its message (or the help) already.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof BiocreditError) {
      process.stderr.write(`biocredit: error: ${e.message}\n`);
      return e.exitCode;
    }
    const err = e as Error;
    if (/memory access out of bounds|Cannot allocate Wasm memory|Array buffer allocation failed|^Aborted\(\)/i.test(err.message ?? '')) {
      // The WebAssembly backend has at most 4 GB; large activations (vector conv nets, big evaluation batches) exceed it.
      process.stderr.write(`biocredit: error: out of memory on the ${tf.getBackend()} backend (${err.message}); ${outOfMemoryAdvice(argv[0])}\n`);
      return 1;
    }
    if (process.env['BIOCREDIT_DEBUG']) process.stderr.write(`${err.stack ?? String(err)}\n`);
    else process.stderr.write(`biocredit: internal error: ${err.message ?? String(err)} (set BIOCREDIT_DEBUG=1 for the stack trace)\n`);
    return 70;
  }
}
