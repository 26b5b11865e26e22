import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EXACT_MAX_TOTAL,
  exactUCounts,
  mannWhitneyGreater,
  midranks,
  normalUpperTail,
  smallestPValue,
} from './mann-whitney.js';

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

describe('Mann–Whitney U, known values', () => {
  it('gives U = 9 and p = 1/20 (exact) for [4,5,6] above [1,2,3]', () => {
    const r = mannWhitneyGreater([4, 5, 6], [1, 2, 3]);
    expect(r).toMatchObject({ u: 9, method: 'exact', n1: 3, n2: 3 });
    expect(r.pValue).toBeCloseTo(0.05, 12);
  });

  it('gives p = 1 when x lies entirely below y', () => {
    expect(mannWhitneyGreater([1, 2, 3], [4, 5, 6])).toMatchObject({ u: 0, pValue: 1 });
  });

  it('gives p = 1/70 for two fully separated samples of four', () => {
    expect(mannWhitneyGreater([10, 11, 12, 13], [1, 2, 3, 4]).pValue).toBeCloseTo(1 / 70, 12);
  });

  it('gives P(U >= 7) = 4/20 and P(U >= 8) = 2/20 for n1 = n2 = 3', () => {
    expect(mannWhitneyGreater([3, 4, 6], [1, 2, 5])).toMatchObject({ u: 7 });
    expect(mannWhitneyGreater([3, 4, 6], [1, 2, 5]).pValue).toBeCloseTo(0.2, 12);
    expect(mannWhitneyGreater([3, 5, 6], [1, 2, 4]).pValue).toBeCloseTo(0.1, 12);
  });

  it('has the exact distribution 1,1,2,3,3,3,3,2,1,1 for n1 = n2 = 3', () => {
    expect(exactUCounts(3, 3)).toEqual([1, 1, 2, 3, 3, 3, 3, 2, 1, 1]);
  });

  it('uses the tie-corrected normal approximation with ties: [2,2,3] vs [1,1,2] gives U = 8, p = 1 − Φ(√2)', () => {
    // midranks 1.5,1.5 | 4,4,4 | 6; T = (2³−2) + (3³−3) = 30; var = 9/12·(7 − 30/30) = 4.5; z = (8 − 4.5 − 0.5)/√4.5 = √2
    const r = mannWhitneyGreater([2, 2, 3], [1, 1, 2]);
    expect(r).toMatchObject({ u: 8, method: 'normal' });
    expect(r.pValue).toBeCloseTo(0.0786496, 6);
  });

  it('uses the normal approximation for large samples: 30 above 30 is overwhelmingly significant', () => {
    const y = Array.from({ length: 30 }, (_, i) => i);
    const x = y.map((v) => v + 100);
    const r = mannWhitneyGreater(x, y);
    expect(r.method).toBe('normal');
    expect(r.u).toBe(900);
    expect(r.pValue).toBeLessThan(1e-9);
  });

  it('says nothing (p = 1) when every value is tied', () => {
    expect(mannWhitneyGreater([5, 5, 5], [5, 5]).pValue).toBe(1);
  });

  it('computes midranks and the tie term', () => {
    expect(midranks([10, 20, 20, 30, 20])).toEqual({ ranks: [1, 3, 3, 5, 3], tieTerm: 24 });
  });

  it('has Φ tail values of the standard normal table', () => {
    expect(normalUpperTail(0)).toBeCloseTo(0.5, 7);
    expect(normalUpperTail(1.959964)).toBeCloseTo(0.025, 6);
    expect(normalUpperTail(-1.644854)).toBeCloseTo(0.95, 6);
  });

  it('knows the smallest reachable p-value: 1/C(n1+n2, n1) when exact', () => {
    expect(smallestPValue(2, 2)).toBeCloseTo(1 / 6, 12);
    expect(smallestPValue(6, 18)).toBeCloseTo(1 / binomial(24, 6), 15);
    expect(smallestPValue(0, 3)).toBe(1);
  });

  it('refuses empty samples', () => {
    expect(() => mannWhitneyGreater([], [1])).toThrow(RangeError);
  });
});

const sample = fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 25 });

describe('Mann–Whitney U, properties', () => {
  it('the exact distribution has C(n1+n2, n1) arrangements and is symmetric', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 12 }), (n1, n2) => {
        const counts = exactUCounts(n1, n2);
        expect(counts).toHaveLength(n1 * n2 + 1);
        expect(counts.reduce((s, c) => s + c, 0)).toBe(binomial(n1 + n2, n1));
        expect([...counts].reverse()).toEqual(counts);
      }),
    );
  });

  it('p is a probability, and U(x, y) + U(y, x) = n1·n2', () => {
    fc.assert(
      fc.property(sample, sample, (x, y) => {
        const a = mannWhitneyGreater(x, y);
        const b = mannWhitneyGreater(y, x);
        expect(a.pValue).toBeGreaterThanOrEqual(0);
        expect(a.pValue).toBeLessThanOrEqual(1);
        expect(a.u + b.u).toBeCloseTo(x.length * y.length, 9);
      }),
    );
  });

  it('depends on ranks only: a strictly increasing transform changes nothing', () => {
    fc.assert(
      fc.property(sample, sample, (x, y) => {
        const f = (v: number): number => 3 * v * v + 7;
        expect(mannWhitneyGreater(x.map(f), y.map(f))).toEqual(mannWhitneyGreater(x, y));
      }),
    );
  });

  it('making the new sample slower never makes the evidence weaker (within one method)', () => {
    fc.assert(
      fc.property(sample, sample, fc.integer({ min: 0, max: 2000 }), fc.nat(), (x, y, shift, at) => {
        const i = at % x.length;
        const slower = x.map((v, k) => (k === i ? v + shift : v));
        const before = mannWhitneyGreater(x, y);
        const after = mannWhitneyGreater(slower, y);
        // a tie appearing or vanishing switches between exact and approximate p-values, which differ slightly;
        // and within the approximation it changes the tie correction of the variance, which may move p either
        // way for the same U (seed 1042927745 found one): monotone only for one method and one tie structure
        fc.pre(before.method === after.method);
        fc.pre(midranks([...x, ...y]).tieTerm === midranks([...slower, ...y]).tieTerm);
        expect(after.u).toBeGreaterThanOrEqual(before.u);
        expect(after.pValue).toBeLessThanOrEqual(before.pValue + 1e-12);
      }),
    );
  });

  it('the exact p-value is the share of arrangements with U at least as large (checked by enumeration)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 100 }), { minLength: 2, maxLength: 9 }),
        fc.nat(),
        (values, cut) => {
          const n1 = 1 + (cut % (values.length - 1));
          const x = values.slice(0, n1);
          const y = values.slice(n1);
          const r = mannWhitneyGreater(x, y);
          expect(r.method).toBe('exact');
          // enumerate every way to pick n1 of the pooled values as x
          const pooled = [...values];
          let atLeast = 0;
          let all = 0;
          const pick = (from: number, chosen: number[]): void => {
            if (chosen.length === n1) {
              const xs = chosen.map((k) => pooled[k]!);
              const ys = pooled.filter((_, k) => !chosen.includes(k));
              const u = xs.reduce((s, a) => s + ys.filter((b) => a > b).length, 0);
              all++;
              if (u >= r.u) atLeast++;
              return;
            }
            for (let k = from; k < pooled.length; k++) pick(k + 1, [...chosen, k]);
          };
          pick(0, []);
          expect(r.pValue).toBeCloseTo(atLeast / all, 12);
        },
      ),
    );
  });

  it('the normal approximation is close to the exact p-value near the exact limit', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), {
          minLength: EXACT_MAX_TOTAL - 10,
          maxLength: EXACT_MAX_TOTAL,
        }),
        (values) => {
          const half = Math.floor(values.length / 2);
          const exact = mannWhitneyGreater(values.slice(0, half), values.slice(half));
          // one tie pushes the same data onto the normal approximation
          const tied = [...values.slice(0, half - 1), values[half]!];
          const normal = mannWhitneyGreater(tied, values.slice(half));
          expect(exact.method).toBe('exact');
          expect(normal.method).toBe('normal');
          const reference = mannWhitneyGreater(
            tied.map((v, k) => (k === tied.length - 1 ? v + 0.5 : v)),
            values.slice(half),
          );
          expect(Math.abs(normal.pValue - reference.pValue)).toBeLessThan(0.06);
        },
      ),
    );
  });
});
