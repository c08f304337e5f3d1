/**
 * Seeded random streams. Every random draw in biocredit comes from a stream
 * derived by name from the run seed, so adding a consumer never shifts the
 * numbers another consumer sees. Streams are Alea generators (seedrandom) whose
 * full state can be saved and restored, which makes resumed runs exact.
 *
 * tfjs random ops (used where drawing in JavaScript would be a per-element loop
 * in a hot path) receive integer seeds drawn from a stream: `rng.tfSeed()`.
 */
import seedrandom from 'seedrandom';

export interface RngState {
  c: number;
  s0: number;
  s1: number;
  s2: number;
  /** The second Box-Muller value, kept so that a restored stream continues exactly. */
  spare: number | null;
}

type AleaState = Omit<RngState, 'spare'>;

export class Rng {
  private readonly prng: seedrandom.StatefulPRNG<AleaState>;
  private spare: number | null = null;

  constructor(seedOrState: string | RngState) {
    if (typeof seedOrState === 'string') {
      this.prng = seedrandom.alea(seedOrState, { state: true }) as seedrandom.StatefulPRNG<AleaState>;
    } else {
      const { spare, ...alea } = seedOrState;
      this.prng = seedrandom.alea('', { state: alea }) as seedrandom.StatefulPRNG<AleaState>;
      this.spare = spare;
    }
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.prng();
  }

  /** Standard normal (Box-Muller, polar form). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    let v = 0;
    let r = 0;
    do {
      u = 2 * this.prng() - 1;
      v = 2 * this.prng() - 1;
      r = u * u + v * v;
    } while (r >= 1 || r === 0);
    const m = Math.sqrt((-2 * Math.log(r)) / r);
    this.spare = v * m;
    return u * m;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.prng() * n);
  }

  /** A non-negative 31-bit integer seed for a tfjs random op. */
  tfSeed(): number {
    return Math.floor(this.prng() * 2147483647);
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.prng() * (i + 1));
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }

  /** `n` independent normal draws scaled by `std`. */
  normals(n: number, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal() * std;
    return out;
  }

  state(): RngState {
    return { ...this.prng.state(), spare: this.spare };
  }
}

/**
 * The named streams of one run. `stream(name)` is stateful and saved in
 * checkpoints; `derive(...parts)` gives a fresh stream fixed by its name alone
 * (for draws that are a pure function of, say, the epoch number).
 */
export class RngStreams {
  private readonly streams = new Map<string, Rng>();

  constructor(readonly seed: number, states: Record<string, RngState> = {}) {
    for (const [name, st] of Object.entries(states)) this.streams.set(name, new Rng(st));
  }

  stream(name: string): Rng {
    let s = this.streams.get(name);
    if (!s) {
      s = new Rng(`${this.seed}/${name}`);
      this.streams.set(name, s);
    }
    return s;
  }

  derive(...parts: (string | number)[]): Rng {
    return new Rng(`${this.seed}/${parts.join('/')}`);
  }

  state(): Record<string, RngState> {
    const out: Record<string, RngState> = {};
    for (const [name, s] of this.streams) out[name] = s.state();
    return out;
  }
}
