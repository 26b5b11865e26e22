// The one-sided Mann–Whitney U test the comparative gates use (`gates.compare.test: mann-whitney`): is sample x
// (the new-revision cohort) stochastically greater (slower) than sample y (the old-revision cohort)?
// Pure arithmetic; exact for small samples without ties, normal approximation with tie correction otherwise.

export const MannWhitneyMethod = { Exact: 'exact', Normal: 'normal' } as const;
export type MannWhitneyMethod = (typeof MannWhitneyMethod)[keyof typeof MannWhitneyMethod];

export interface MannWhitneyResult {
  /** U of x: pairs (x_i, y_j) with x_i > y_j, ties counting one half; 0 ≤ U ≤ n1·n2 */
  readonly u: number;
  /** P(U ≥ u) when x and y come from one distribution: small means x is greater */
  readonly pValue: number;
  readonly method: MannWhitneyMethod;
  readonly n1: number;
  readonly n2: number;
}

/** Without ties and up to this many values in all, the p-value comes from U's exact distribution. */
export const EXACT_MAX_TOTAL = 40;

/** Midranks (1-based) of `values`, and Σ(t³ − t) over groups of t tied values. */
export function midranks(values: readonly number[]): { ranks: number[]; tieTerm: number } {
  const order = values.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
  const ranks = new Array<number>(values.length);
  let tieTerm = 0;
  for (let start = 0; start < order.length;) {
    let end = start + 1;
    while (end < order.length && order[end]!.v === order[start]!.v) end++;
    const rank = (start + 1 + end) / 2; // average of ranks start+1 .. end
    for (let k = start; k < end; k++) ranks[order[k]!.i] = rank;
    const t = end - start;
    tieTerm += t * t * t - t;
    start = end;
  }
  return { ranks, tieTerm };
}

/**
 * How many of the C(n1+n2, n1) arrangements of n1 x-values among n2 y-values give U = 0, 1, ..., n1·n2
 * (recurrence: the largest value is an x, adding n2 to U, or a y, adding nothing).
 */
export function exactUCounts(n1: number, n2: number): number[] {
  // counts[j] = distribution for (i, j), rebuilt row by row in i
  let prev: number[][] = Array.from({ length: n2 + 1 }, () => [1]); // i = 0: U = 0 whatever j
  for (let i = 1; i <= n1; i++) {
    const row: number[][] = [[1]]; // j = 0: U = 0
    for (let j = 1; j <= n2; j++) {
      const withX = prev[j]!; // largest is an x: U of (i-1, j) shifted by j
      const withY = row[j - 1]!; // largest is a y: U of (i, j-1)
      const out = new Array<number>(i * j + 1).fill(0);
      withX.forEach((c, u) => (out[u + j]! += c));
      withY.forEach((c, u) => (out[u]! += c));
      row.push(out);
    }
    prev = row;
  }
  return prev[n2]!;
}

/** Upper tail of the standard normal distribution, 1 − Φ(z) (erfc after Numerical Recipes; relative error < 1.2e-7). */
export function normalUpperTail(z: number): number {
  const x = z / Math.SQRT2;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.5 * a);
  const erfcA =
    t *
    Math.exp(
      -a * a -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  const erfc = x >= 0 ? erfcA : 2 - erfcA;
  return erfc / 2;
}

/**
 * One-sided test of H1 "x is stochastically greater than y". Both samples must be non-empty.
 * Exact when there are no ties and n1 + n2 ≤ EXACT_MAX_TOTAL; otherwise the normal approximation with the tie
 * correction of the variance and a continuity correction of 1/2.
 */
export function mannWhitneyGreater(x: readonly number[], y: readonly number[]): MannWhitneyResult {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('mann-whitney needs at least one value in each sample');
  if (![...x, ...y].every(Number.isFinite)) throw new RangeError('mann-whitney needs finite values');
  const { ranks, tieTerm } = midranks([...x, ...y]);
  const rankSumX = ranks.slice(0, n1).reduce((s, r) => s + r, 0);
  const u = rankSumX - (n1 * (n1 + 1)) / 2;
  const n = n1 + n2;
  if (tieTerm === 0 && n <= EXACT_MAX_TOTAL) {
    const counts = exactUCounts(n1, n2);
    const total = counts.reduce((s, c) => s + c, 0);
    let tail = 0;
    for (let k = Math.round(u); k < counts.length; k++) tail += counts[k]!;
    return { u, pValue: Math.min(1, tail / total), method: MannWhitneyMethod.Exact, n1, n2 };
  }
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  // every value tied: nothing tells the samples apart
  if (variance <= 0) return { u, pValue: 1, method: MannWhitneyMethod.Normal, n1, n2 };
  const z = (u - mean - 0.5) / Math.sqrt(variance);
  return { u, pValue: Math.min(1, Math.max(0, normalUpperTail(z))), method: MannWhitneyMethod.Normal, n1, n2 };
}

/**
 * The smallest p-value the test can give for these sample sizes (x entirely above y): when it is not below
 * alpha, the test cannot reject whatever the data, and a gate relying on it could never fail.
 */
export function smallestPValue(n1: number, n2: number): number {
  if (n1 === 0 || n2 === 0) return 1;
  const ramp = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  return mannWhitneyGreater(
    ramp(n1).map((i) => n2 + i),
    ramp(n2),
  ).pValue;
}
