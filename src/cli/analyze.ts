/**
 * `biocredit analyze RUN_DIR|COMPARE_DIR`: the registered analyses (curvature,
 * generalization gap, sharpness, geometry, dynamics, implicit bias, …) of
 * trained networks, from their last checkpoints. The flags, their help and the
 * table columns come from the analyses' own declarations. Writes analysis.json
 * into every run directory (reused when the options and the checkpoint are
 * unchanged) and, for a compare directory, analysis.json and analysis.html
 * beside compare.json.
 */
import { Command } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ANALYSIS_FILE, analyzeRun, type AnalyzeRequest } from '../analysis/analyze.js';
import type { AnalysisEntry, RunAnalysis } from '../analysis/contract.js';
import { aggregate, analysisPage, analysisRows, settings, texts } from '../analysis/report.js';
import { initBackend, parseBackendChoice } from '../backend.js';
import { atomicWrite, atomicWriteJson, checkpointDir } from '../checkpoint.js';
import { COMPARE_FILE, groupsOf, readCompareFile, runsOf } from '../compare.js';
import { RunDirError, UsageError } from '../errors.js';
import { BusyError, lockOwner } from '../lock.js';
import { flagName, parseFlag, type OptionSpec } from '../options.js';
import { analyses } from '../registries.js';
import type { ResolvedOptions } from '../types.js';
import { attributeName, backendOption, describe } from './flags.js';
import { duration, table } from './format.js';

type Raw = Record<string, string | boolean | undefined>;

/** Analyses `analyze` can run (the others record during training only). */
const afterTraining = (): AnalysisEntry[] => analyses.entries().filter((e) => e.run);

const selectorOf = (e: AnalysisEntry): OptionSpec | undefined => (e.selector ? e.options?.find((o) => o.key === e.selector) : undefined);

/** The flag that turns an analysis on (or, for one that always runs, off). */
function switchFlag(e: AnalysisEntry): string {
  const selector = selectorOf(e);
  if (selector) return selector.flag;
  return e.selection === 'always' ? `--no-${e.name}` : `--${e.name}`;
}

/** The options flags of the analyses: each once, even where several analyses declare it. */
function optionFlags(): { spec: OptionSpec; owners: string[] }[] {
  const out = new Map<string, { spec: OptionSpec; owners: string[] }>();
  for (const e of afterTraining()) {
    for (const spec of e.options ?? []) {
      if (spec.key === e.selector) continue;
      const seen = out.get(spec.key);
      if (seen && flagName(seen.spec.flag) !== flagName(spec.flag)) throw new Error(`analysis option ${spec.key} is declared with two flags: ${seen.spec.flag} and ${spec.flag}`);
      if (seen) seen.owners.push(e.name);
      else out.set(spec.key, { spec, owners: [e.name] });
    }
  }
  return [...out.values()];
}

/** Which analyses run, each with its resolved options, from the command line. */
export function requestFrom(raw: Raw, given: (attr: string) => boolean): AnalyzeRequest {
  const entries = afterTraining();
  const on = (e: AnalysisEntry) => given(attributeName(switchFlag(e)));
  const chosen = entries.filter((e) => e.selection !== 'always' && on(e)).length > 0;
  const request: AnalyzeRequest = {};
  for (const e of entries) {
    const selected = e.selection === 'always' ? raw[attributeName(e.name)] !== false : on(e) || (e.selection === 'default' && !chosen);
    if (!selected) continue;
    const opts: ResolvedOptions = {};
    for (const spec of e.options ?? []) {
      const attr = attributeName(spec.flag);
      opts[spec.key] = given(attr) ? parseFlag(spec.flag, String(raw[attr]), spec.parse) : spec.default;
    }
    request[e.name] = opts;
  }
  // An option given for analyses that do not run would be silently ignored: it is an error.
  for (const { spec, owners } of optionFlags()) {
    const attr = attributeName(spec.flag);
    if (!given(attr)) continue;
    parseFlag(spec.flag, String(raw[attr]), spec.parse);
    if (!owners.some((o) => request[o])) {
      const add = owners.map((o) => flagName(switchFlag(analyses.get(o)))).join(' or ');
      throw new UsageError(`${flagName(spec.flag)} is an option of ${owners.join(', ')}, which ${owners.length > 1 ? 'do' : 'does'} not run here; add ${add}`);
    }
  }
  return request;
}

interface RunStatus {
  finished: boolean;
  diverged: boolean;
  /** Whether it has a checkpoint and no live process holds it. */
  analysable: boolean;
  /** How the run stands, for messages: "finished", "interrupted at step 187 of 375", … */
  text: string;
}

/** Where a run stands, from its summary.json, checkpoint and lock. */
function runStatus(dir: string): RunStatus {
  let summary: { status?: string; steps?: number; totalSteps?: number; error?: string } | null = null;
  try {
    summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  } catch {
    summary = null;
  }
  const checkpoint = checkpointDir(dir) !== null;
  const owner = lockOwner(dir);
  const stopped = { finished: false, diverged: false };
  if (owner) return { ...stopped, analysable: false, text: `is in use by pid ${owner.pid} on ${owner.host}` };
  if (!checkpoint) return { ...stopped, analysable: false, text: summary ? 'has no checkpoint to analyse (checkpoint/ is missing)' : 'has not started (no checkpoint to analyse)' };
  if (summary?.status === 'finished' || summary?.status === 'diverged') return { finished: true, diverged: summary.status === 'diverged', analysable: true, text: summary.status };
  const at = (() => {
    try {
      return (JSON.parse(readFileSync(join(checkpointDir(dir)!, 'state.json'), 'utf8')) as { step: number }).step;
    } catch {
      return NaN;
    }
  })();
  const of = summary?.totalSteps ? ` of ${summary.totalSteps}` : '';
  if (summary?.status === 'failed') return { ...stopped, analysable: true, text: `failed (last checkpoint at step ${at}${of})` };
  if (summary?.status === 'interrupted') return { ...stopped, analysable: true, text: `was interrupted at step ${at}${of}` };
  return { ...stopped, analysable: true, text: `did not finish (its process stopped; last checkpoint at step ${at})` };
}

/** Which checkpoint steps were analysed: one line, naming the runs analysed before they finished. */
function stepsLine(done: RunAnalysis[]): string {
  const steps = [...new Set(done.map((a) => a.step))];
  const unfinished = done.filter((a) => !a.finished);
  const at = steps.length === 1 ? `the checkpoint${done.length > 1 ? 's' : ''} at step ${steps[0]}` : `checkpoints at steps ${Math.min(...steps)}–${Math.max(...steps)}`;
  return `analysed ${at}${unfinished.length ? `; unfinished, as they are: ${unfinished.map((a) => `${a.group}-s${a.seed} (step ${a.step})`).join(', ')}` : ''}`;
}

interface Target {
  kind: 'run' | 'compare';
  dir: string;
  runs: { group: string; seed: number; dir: string }[];
  groups: string[];
  /** The first column of the table: rule, or group when a sweep varies more than the rule. */
  label: 'rule' | 'group';
  command?: string;
}

function target(dirArg: string): Target {
  const dir = resolve(dirArg);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new RunDirError(dir, 'directory not found');
  if (existsSync(join(dir, COMPARE_FILE))) {
    const file = readCompareFile(dir);
    const groups = groupsOf(file);
    const label = file.fingerprint.grid ? 'group' : 'rule';
    return { kind: 'compare', dir, runs: runsOf(dir, groups, file.fingerprint.seeds), groups: groups.map((g) => g.label), label, command: file.command };
  }
  if (existsSync(join(dir, 'config.json'))) return { kind: 'run', dir, runs: [{ group: '', seed: 0, dir }], groups: [], label: 'rule' };
  throw new RunDirError(dir, `not a run directory (no config.json) nor a compare directory (no ${COMPARE_FILE})`);
}

export function analyzeCommand(): Command {
  const cmd = new Command('analyze')
    .description('analyses of trained networks (a run or a compare directory): Hessian spectrum, generalization gap, sharpness, geometry, dynamics, implicit bias')
    .argument('<dir>', 'a run directory (from train) or a compare directory (from compare)');
  cmd.optionsGroup('Analyses:');
  for (const e of afterTraining()) {
    const selector = selectorOf(e);
    const when = e.selection === 'default' ? ' (runs by default when no other analysis is chosen)' : '';
    if (selector) cmd.option(selector.flag, `${e.description}: ${describe(selector)}${when}`);
    else if (e.selection === 'always') cmd.option(`--no-${e.name}`, `skip: ${e.description}`);
    else cmd.option(`--${e.name}`, e.description);
  }
  cmd.optionsGroup('Analysis options:');
  for (const { spec, owners } of optionFlags()) cmd.option(spec.flag, `${describe(spec)} [${owners.join(', ')}]`);
  cmd.optionsGroup('Output:');
  cmd
    .addOption(backendOption())
    .option('--include-unfinished', 'also analyse runs that did not finish (interrupted or failed), at their last checkpoint, marked as such')
    .option('--force', 'compute the chosen analyses again even where a run’s analysis.json holds them with the same options')
    .option('--json', 'print the results as JSON on stdout')
    .option('--quiet', 'no progress output')
    .addHelpText(
      'after',
      `
Examples:
  $ biocredit analyze RUN
  $ biocredit analyze COMPARE --hessian top-k=3,trace,density
  $ biocredit analyze RUN --hessian top-k=1 --params l1/W --points 10000 --sharpness --geometry
  $ biocredit analyze RNN_RUN --hessian top-k=1 --params rnn/J --dynamics
  $ biocredit analyze GLN_RUN --implicit-bias --no-gap

RUN stands for a run directory (runs/<timestamp>-<rule>-<model>-<dataset> by default),
COMPARE for a compare directory (runs/compare-<model>-<dataset>-<hash> by default).

Hessian-vector products are exact (double backprop with second-order-safe gradients; see docs/architecture.md, "Curvature").`,
    )
    .action(async (dirArg: string, raw: Raw) => {
      const t0 = performance.now();
      const request = requestFrom(raw, (attr) => cmd.getOptionValueSource(attr) === 'cli');
      const tgt = target(dirArg);
      const includeUnfinished = Boolean(raw['includeUnfinished']);
      const backend = await initBackend(raw['backend'] !== undefined ? parseBackendChoice(String(raw['backend']), '--backend') : undefined);
      const say = (s: string) => !raw['quiet'] && process.stderr.write(`${s}\n`);
      say(`biocredit analyze ${tgt.kind === 'compare' ? `${tgt.runs.length} runs of ${tgt.dir}` : tgt.dir}, backend ${backend}`);
      const done: RunAnalysis[] = [];
      const skipped: string[] = [];
      for (const run of tgt.runs) {
        const label = tgt.kind === 'compare' ? `${run.group}-s${run.seed}` : 'run';
        const status = runStatus(run.dir);
        if (!status.analysable || (!status.finished && !includeUnfinished)) {
          const why = `${status.text}${status.analysable ? '; --include-unfinished analyses it as it is' : ''}`;
          if (tgt.kind === 'run') throw new RunDirError(run.dir, `the run ${why}`);
          skipped.push(`${label} (${why})`);
          continue;
        }
        const started = performance.now();
        try {
          const a = await analyzeRun(run.dir, request, {
            progress: (phase) => say(`[${label}] ${phase} (${duration((performance.now() - started) / 1000)})`),
            ...(tgt.kind === 'compare' ? { group: run.group } : {}),
            force: Boolean(raw['force']),
            finished: status.finished,
            diverged: status.diverged,
          });
          done.push(a);
          say(`[${label}] step ${a.step}${status.finished ? '' : ' (unfinished)'}, done in ${duration((performance.now() - started) / 1000)}`);
        } catch (e) {
          // A run of a comparison that cannot be analysed now is reported and skipped; the others still count.
          if (tgt.kind === 'compare' && (e instanceof RunDirError || e instanceof BusyError)) {
            skipped.push(`${label} (${e.message})`);
            continue;
          }
          throw e;
        }
      }
      if (!done.length) throw new UsageError(`nothing to analyse in ${tgt.dir}: ${skipped.join('; ')}`);
      const groups = tgt.kind === 'compare' ? tgt.groups : [done[0]!.group];
      const perGroup = aggregate(done, groups);
      const wallSec = (performance.now() - t0) / 1000;
      const brief = (a: RunAnalysis): RunAnalysis => {
        const out: RunAnalysis = { ...a };
        for (const e of analyses.entries()) if (e.brief && out[e.key] !== undefined) out[e.key] = e.brief(out[e.key]);
        return out;
      };
      const summary = {
        dir: tgt.dir,
        kind: tgt.kind,
        ...(tgt.command ? { command: tgt.command } : {}),
        request,
        backend,
        groups: Object.fromEntries(perGroup.map((r) => [r.group, { runs: r.runs, unfinished: r.unfinished, ...r.stats }])),
        runs: done.map(brief),
        skipped,
        wallSec,
      };
      const rules = [...new Set(done.map((a) => a.rule))].join(', ');
      const title = `Analysis: ${rules} on ${done[0]!.model} / ${done[0]!.dataset}${tgt.kind === 'run' ? ` (seed ${done[0]!.seed})` : ''}`;
      const command = ['biocredit', ...process.argv.slice(2)].join(' ');
      if (tgt.kind === 'compare') atomicWriteJson(join(tgt.dir, ANALYSIS_FILE), summary);
      atomicWrite(join(tgt.dir, 'analysis.html'), await analysisPage({ title, command, ...(tgt.command ? { of: tgt.command } : {}) }, done, groups, tgt.label));
      if (raw['json']) {
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      } else {
        process.stdout.write(`${table(analysisRows(perGroup, tgt.label))}\n`);
        process.stdout.write(`${stepsLine(done)}\n`);
        if (skipped.length) process.stdout.write(`skipped: ${skipped.join('; ')}\n`);
        for (const line of settings(done)) process.stdout.write(`${line}\n`);
        for (const t of texts(done, tgt.kind === 'compare')) process.stdout.write(t);
        process.stdout.write(`${done.length} run${done.length > 1 ? 's' : ''}, ${duration(wallSec)} wall; ${tgt.kind === 'compare' ? `${ANALYSIS_FILE}, ` : ''}analysis.html in ${tgt.dir}\n`);
      }
    });
  return cmd;
}
