/**
 * Typed errors. Every error a user can cause says what was expected and what was
 * found, naming the flag or file. The CLI prints `message` on one line and exits
 * with `exitCode`; anything that is not a BiocreditError is a bug and is reported
 * as such.
 */
export class BiocreditError extends Error {
  constructor(message: string, readonly exitCode: number = 1) {
    super(message);
    this.name = new.target.name;
  }
}

/** A bad flag, option value or configuration (exit code 2). */
export class UsageError extends BiocreditError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** A data file that is missing, malformed or inconsistent. */
export class DataError extends BiocreditError {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`, 1);
  }
}

/** Training could not continue (e.g. a non-finite loss). */
export class TrainingError extends BiocreditError {}

/** A run directory that is missing pieces or is not a biocredit run. */
export class RunDirError extends BiocreditError {
  constructor(readonly dir: string, problem: string) {
    super(`${dir}: ${problem}`, 1);
  }
}
