/** Rank statistics against hand-computed values. */
import { describe, expect, it } from 'vitest';
import { pearson, ranks, spearman } from '../../src/stats.js';

describe('rank statistics', () => {
  it('ranks ties at their mean rank', () => {
    expect(ranks([10, 30, 20, 30])).toEqual([1, 3.5, 2, 3.5]);
  });

  it("Spearman's ρ: 1 for any increasing relation, −1 decreasing, the textbook value otherwise", () => {
    expect(spearman([1, 2, 3, 4], [1, 8, 27, 1000]).rho).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1]).rho).toBeCloseTo(-1, 12);
    // Ranks (1, 2, 3, 4, 5) and (2, 1, 4, 3, 5): Σd² = 4, ρ = 1 − 6·4/(5·24) = 0.8.
    expect(spearman([1, 2, 3, 4, 5], [20, 10, 40, 30, 50]).rho).toBeCloseTo(0.8, 12);
  });

  it('skips pairs with a non-finite value and reports how many it used', () => {
    expect(spearman([1, 2, NaN, 3], [1, 2, 5, Infinity])).toEqual({ rho: 1, n: 2 });
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNaN();
  });
});
