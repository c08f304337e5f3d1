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
