/**
 * An experiment reproduces a published comparison with `biocredit compare`.
 * `experiments/run.ts` runs it and writes a Markdown table of the measured
 * numbers beside the published ones.
 */
export interface Experiment {
  /** Short id used on the command line, e.g. `nokland2016-tanh`. */
  name: string;
  title: string;
  /** The paper or repository the numbers come from, and how they were obtained. */
  source: string;
  /** Rules compared, in the order of the table. */
  rules: string[];
  /** `biocredit compare` flags other than --rules, --seeds, --epochs, --out. */
  args: string[];
  /** Epochs and seeds of the published protocol, for the record. */
  publishedProtocol: string;
  /** Published test error (%) per rule. */
  published: Record<string, number>;
  /** What differs from the published protocol. */
  differences: string[];
}

/** A comparison of temporal rules on a task, run for a fixed number of steps. */
export interface TaskExperiment {
  name: string;
  title: string;
  source: string;
  rules: string[];
  /** `biocredit compare` flags other than --rules, --seeds, --out (including --steps). */
  args: string[];
  /** What the source reports, per rule (free text). */
  published: Record<string, string>;
  differences: string[];
}
