/** `biocredit info` and `biocredit list`. */
import * as tf from '@tensorflow/tfjs';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import chalk from 'chalk';
import { Command, Option } from 'commander';
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';
import { BACKEND_CHOICES, backendInfo, initBackend, parseBackendChoice, requestedBackend } from '../backend.js';
import { analyses, datasets, models, rules, tasks } from '../registries.js';
import type { Registry } from '../registry.js';
import type { RegistryItem } from '../types.js';
import { VERSION } from '../version.js';
import { table, terminalWidth, visibleLength, wrapWords } from './format.js';

const require = createRequire(import.meta.url);

function nativeVersion(): string | null {
  try {
    return (require('@tensorflow/tfjs-node/package.json') as { version: string }).version;
  } catch {
    return null;
  }
}

export function infoCommand(): Command {
  return new Command('info')
    .description('versions, the backend in use, and the machine')
    .addOption(new Option('--backend <name>', 'backend to initialise').choices(BACKEND_CHOICES as unknown as string[]))
    .option('--json', 'machine-readable output')
    .action(async (opts: { backend?: string; json?: boolean }) => {
      const choice = opts.backend ? parseBackendChoice(opts.backend, '--backend') : undefined;
      const requested = requestedBackend(choice);
      await initBackend(choice);
      const info = {
        biocredit: VERSION,
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        cores: cpus().length,
        memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
        tfjs: tf.version.tfjs,
        backends: {
          tensorflow: nativeVersion() ?? 'not installed (@tensorflow/tfjs-node is optional)',
          wasm: version_wasm,
          cpu: tf.version['tfjs-core'],
        },
        requested,
        active: backendInfo(),
      };
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
        return;
      }
      const a = info.active;
      const flags = a.backend === 'wasm' ? ` (SIMD ${a.simd ? 'yes' : 'no'}, threads ${a.threads ? 'yes' : 'no'}, native kernels ${a.native})` : '';
      process.stdout.write(
        [
          `${chalk.bold('biocredit')} ${info.biocredit}`,
          table([
            ['node', `${info.node} (${info.platform})`],
            ['machine', `${info.cores} cores, ${info.memoryGiB} GiB`],
            ['tfjs', info.tfjs],
            ['tfjs-node', info.backends.tensorflow],
            ['tfjs-backend-wasm', info.backends.wasm],
            ['backend', `${chalk.yellow(a.backend)}${flags} (requested: ${requested})`],
          ]),
        ].join('\n') + '\n',
      );
    });
}

export function listCommand(): Command {
  return new Command('list')
    .description(
      'every registered rule, model, dataset, task and analysis, with a one-line description, its requirements and its reference; ' +
        'descriptions wrap at the terminal width (COLUMNS), and output to a pipe keeps one line per entry',
    )
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => {
      const groups: [string, string, Registry<RegistryItem & { requires?: readonly string[]; output?: string }>][] = [
        ['rules', 'rules', rules],
        ['models', 'models', models],
        ['datasets', 'datasets', datasets],
        ['tasks', 'tasks (--task)', tasks],
        ['analyses', 'analyses (biocredit analyze; --analyze during training)', analyses],
      ];
      if (opts.json) {
        const out = Object.fromEntries(
          groups.map(([key, , r]) => [
            key,
            r.entries().map((e) => ({
              name: e.name,
              description: e.description,
              reference: e.reference ?? null,
              ...(e.output ? { output: e.output } : {}),
              ...(e.requires?.length ? { requires: e.requires } : {}),
            })),
          ]),
        );
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        return;
      }
      const width = terminalWidth(process.stdout);
      const blocks = groups.map(([, title, r]) => {
        const entries = r.entries();
        if (!entries.length) return `${chalk.bold(title)}\n  (none registered yet)`;
        const needs = (e: { requires?: readonly string[]; output?: string }) =>
          [e.output === 'update' ? 'applies its own updates' : '', e.requires?.length ? `needs ${e.requires.join(', ')}` : ''].filter(Boolean).join('; ');
        const rows = entries.map((e) => [`  ${chalk.cyan(e.name)}`, e.description + (needs(e) ? chalk.dim(` [${needs(e)}]`) : ''), chalk.dim(e.reference ?? '')]);
        const aligned = table([['', '', ''], ...rows]).split('\n').slice(1);
        if (width === undefined || aligned.every((l) => visibleLength(l) <= width)) return `${chalk.bold(title)}\n${aligned.join('\n')}`;
        // Too wide for the terminal: descriptions wrap under their column, and the
        // reference follows the description, on a line of its own when it does not fit.
        const nameWidth = Math.max(...entries.map((e) => e.name.length));
        const indent = ' '.repeat(nameWidth + 4);
        // A terminal barely wider than the names still gets a few words per line.
        const room = Math.max(width - indent.length, 20);
        const dim = (text: string) => text.split(' ').map((w) => chalk.dim(w));
        const lines = entries.flatMap((e) => {
          const text = wrapWords([...e.description.split(' '), ...(needs(e) ? dim(`[${needs(e)}]`) : [])], room);
          if (e.reference) {
            const last = text.length - 1;
            const ref = chalk.dim(e.reference);
            if (visibleLength(text[last]!) + 2 + visibleLength(ref) <= room) text[last] = `${text[last]}  ${ref}`;
            else text.push(...wrapWords(dim(e.reference), room));
          }
          return text.map((t, i) => (i === 0 ? `  ${chalk.cyan(e.name)}${' '.repeat(nameWidth - e.name.length + 2)}${t}` : `${indent}${t}`));
        });
        return `${chalk.bold(title)}\n${lines.join('\n')}`;
      });
      process.stdout.write(`${blocks.join('\n\n')}\n`);
    });
}
