import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Rng, RngStreams } from '../../src/rng.js';

describe('Rng', () => {
  it('gives the same numbers for the same seed and different numbers for another', () => {
    const a = new Rng('x');
    const b = new Rng('x');
    const c = new Rng('y');
    const sa = Array.from({ length: 5 }, () => a.uniform());
    expect(Array.from({ length: 5 }, () => b.uniform())).toEqual(sa);
    expect(Array.from({ length: 5 }, () => c.uniform())).not.toEqual(sa);
  });

  it('continues exactly from a saved state, including a pending normal draw', () => {
    const a = new Rng('state');
    a.uniform();
    a.normal(); // leaves the second Box-Muller value pending
    const saved = JSON.parse(JSON.stringify(a.state()));
    const next = [a.normal(), a.uniform(), a.normal()];
    const b = new Rng(saved);
    expect([b.normal(), b.uniform(), b.normal()]).toEqual(next);
  });

  it('draws standard normals with mean ≈ 0 and variance ≈ 1', () => {
    const r = new Rng('normal');
    const xs = r.normals(20000);
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    const variance = xs.reduce((s, v) => s + (v - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.04);
  });

  it('hands tfjs random ops integer seeds that reproduce their draws', () => {
    const draw = (rng: Rng) => tf.tidy(() => Array.from(tf.randomNormal([6], 0, 1, 'float32', rng.tfSeed()).dataSync()));
    const a = draw(new Rng('tf'));
    expect(draw(new Rng('tf'))).toEqual(a);
    expect(draw(new Rng('tf-other'))).not.toEqual(a);
    const s = new Rng('tf').tfSeed();
    expect(Number.isInteger(s) && s >= 0 && s < 2 ** 31).toBe(true);
  });

  it('permutation contains every index once', () => {
    const p = new Rng('perm').permutation(1000);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect([...p]).not.toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });
});

describe('RngStreams', () => {
  it('derives streams by name, so a new consumer does not shift the others', () => {
    const s1 = new RngStreams(7);
    const init1 = s1.stream('init').uniform();
    const s2 = new RngStreams(7);
    s2.stream('something-new').uniform();
    expect(s2.stream('init').uniform()).toBe(init1);
    expect(new RngStreams(8).stream('init').uniform()).not.toBe(init1);
  });

  it('saves and restores every stream', () => {
    const s = new RngStreams(3);
    s.stream('a').uniform();
    s.stream('b').normal();
    const restored = new RngStreams(3, JSON.parse(JSON.stringify(s.state())));
    expect(restored.stream('a').uniform()).toBe(s.stream('a').uniform());
    expect(restored.stream('b').normal()).toBe(s.stream('b').normal());
  });

  it('derive() is a pure function of the name', () => {
    const s = new RngStreams(5);
    expect(s.derive('shuffle', 3).uniform()).toBe(new RngStreams(5).derive('shuffle', 3).uniform());
    expect(s.derive('shuffle', 3).uniform()).not.toBe(s.derive('shuffle', 4).uniform());
  });
});
