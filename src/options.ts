/**
 * Option specs shared by the CLI and the typed API. A registry entry (rule,
 * model, dataset) declares its options once; the CLI turns them into flags with
 * help text, the API validates the same values, and the resolved values are
 * stored in the run's config.json.
 */
import { UsageError } from './errors.js';

export type OptionValue = string | number | boolean | number[] | string[] | null;

export interface OptionSpec<T extends OptionValue = OptionValue, K extends string = string> {
  /** Key in the options object, camelCase (`hidden`, `initScale`). */
  key: K;
  /** The CLI flag with its value placeholder, e.g. `--hidden <sizes>`. */
  flag: string;
  description: string;
  default: T;
  /** Parses a CLI string; throws an Error whose message says what was expected. */
  parse(raw: string): T;
  /** Validates a value given through the API (defaults to re-parsing its string form). */
  check?(value: unknown): T;
}

export type Parser<T extends OptionValue> = (raw: string) => T;

/** The `--flag` part of a flag spec such as `--hidden <sizes>`. */
export function flagName(flag: string): string {
  return flag.split(/\s+/)[0] ?? flag;
}

export function option<K extends string, T extends OptionValue>(key: K, flag: string, description: string, def: T, parse: Parser<T>): OptionSpec<T, K> {
  return { key, flag, description, default: def, parse };
}

/**
 * The resolved options an entry's specs describe, typed: `[option('hidden', …,
 * [256], parse.intList)]` gives `{ hidden: number[] }`.
 */
export type OptionsOf<S extends readonly OptionSpec[]> = { [E in S[number] as E['key']]: E['default'] };

/** Every option at its default, typed (for building entries directly, as tests do). */
export function optionDefaults<const S extends readonly OptionSpec[]>(specs: S): OptionsOf<S> {
  return Object.fromEntries(specs.map((s) => [s.key, s.default])) as OptionsOf<S>;
}

function fail(expected: string): never {
  throw new Error(expected);
}

/** A parser for numbers that must satisfy `ok`; `expected` completes "--flag ...". */
function numeric(ok: (v: number) => boolean, expected: string): Parser<number> {
  return (raw) => {
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v) || !ok(v)) fail(expected);
    return v;
  };
}

export const parse = {
  positiveNumber: numeric((v) => v > 0, 'must be a positive number'),
  nonNegativeNumber: numeric((v) => v >= 0, 'must be a number ≥ 0'),
  positiveInt: numeric((v) => Number.isInteger(v) && v > 0, 'must be a positive integer'),
  nonNegativeInt: numeric((v) => Number.isInteger(v) && v >= 0, 'must be an integer ≥ 0'),
  boolean: (raw: string): boolean => {
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    return fail('must be true or false');
  },
  /** A comma-separated list of positive integers, e.g. `256,256`; empty means none. */
  intList: (raw: string): number[] => {
    if (raw.trim() === '') return [];
    return raw.split(',').map((s) => {
      const v = Number(s.trim());
      if (s.trim() === '' || !Number.isInteger(v) || v <= 0) {
        fail('must be a comma-separated list of positive integers such as 256,256');
      }
      return v;
    });
  },
  string: (raw: string): string => {
    if (raw.trim() === '') fail('must not be empty');
    return raw;
  },
  choice:
    <C extends string>(choices: readonly C[]) =>
    (raw: string): C => {
      if (!(choices as readonly string[]).includes(raw)) fail(`must be one of ${choices.join(', ')}`);
      return raw as C;
    },
};

/** Parses one CLI value, turning a parser failure into a UsageError naming the flag. */
export function parseFlag<T extends OptionValue>(flag: string, raw: string, parser: Parser<T>): T {
  try {
    return parser(raw);
  } catch (e) {
    throw new UsageError(`${flagName(flag)} ${(e as Error).message}, got "${raw}"`);
  }
}

function valueToRaw(value: unknown): string {
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}

/**
 * Fills defaults and validates the options given for one registry entry.
 * Unknown keys are an error that lists the accepted ones.
 */
export function resolveOptions(
  what: string,
  specs: readonly OptionSpec[],
  given: Record<string, unknown> = {},
): Record<string, OptionValue> {
  const known = new Map(specs.map((s) => [s.key, s]));
  for (const key of Object.keys(given)) {
    if (!known.has(key)) {
      const names = specs.map((s) => s.key).join(', ') || 'none';
      throw new UsageError(`${what} has no option "${key}" (options: ${names})`);
    }
  }
  const out: Record<string, OptionValue> = {};
  for (const spec of specs) {
    const v = given[spec.key];
    if (v === undefined) {
      out[spec.key] = spec.default;
    } else if (spec.check) {
      out[spec.key] = spec.check(v);
    } else if (typeof spec.default === 'boolean' && typeof v === 'boolean') {
      out[spec.key] = v;
    } else if (spec.default === null && typeof v !== 'string' && typeof v !== 'number') {
      out[spec.key] = v as OptionValue;
    } else {
      out[spec.key] = parseFlag(spec.flag, valueToRaw(v), spec.parse);
    }
  }
  return out;
}
