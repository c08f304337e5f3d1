import { describe, expect, it } from 'vitest';
import { option, parse, parseFlag, resolveOptions } from '../../src/options.js';

describe('option parsing', () => {
  it('accepts good values', () => {
    expect(parse.positiveNumber('1e-3')).toBe(0.001);
    expect(parse.intList('256,128')).toEqual([256, 128]);
    expect(parse.intList('')).toEqual([]);
    expect(parse.choice(['a', 'b'] as const)('b')).toBe('b');
  });

  it('names the flag, the expectation and the value in errors', () => {
    expect(() => parseFlag('--lr <rate>', 'abc', parse.positiveNumber)).toThrow('--lr must be a positive number, got "abc"');
    expect(() => parseFlag('--lr <rate>', '-1', parse.positiveNumber)).toThrow('--lr must be a positive number, got "-1"');
    expect(() => parseFlag('--epochs <n>', '0', parse.positiveInt)).toThrow('--epochs must be a positive integer, got "0"');
    expect(() => parseFlag('--epochs <n>', '1.5', parse.positiveInt)).toThrow(/positive integer/);
    expect(() => parseFlag('--hidden <sizes>', '256,x', parse.intList)).toThrow(/comma-separated list of positive integers/);
  });

  it('fills defaults, validates API values and rejects unknown keys', () => {
    const specs = [option('hidden', '--hidden <sizes>', 'widths', [8], parse.intList), option('lr', '--lr <x>', 'rate', 0.1, parse.positiveNumber)];
    expect(resolveOptions('model m', specs, {})).toEqual({ hidden: [8], lr: 0.1 });
    expect(resolveOptions('model m', specs, { hidden: [4, 4], lr: '0.5' })).toEqual({ hidden: [4, 4], lr: 0.5 });
    expect(() => resolveOptions('model m', specs, { lr: -2 })).toThrow('--lr must be a positive number, got "-2"');
    expect(() => resolveOptions('model m', specs, { widths: [3] })).toThrow('model m has no option "widths" (options: hidden, lr)');
  });
});
