// Random points of a drill, reproducible: the seed is printed with the drill's report, and
// MESHWAVE_DRILL_SEED=<seed> runs the same points again.
export interface DrillRandom {
  readonly seed: number;
  /** an integer in [min, max] */
  int(min: number, max: number): number;
  /** `n` distinct integers in [min, max] (all of them when the range holds fewer) */
  distinct(n: number, min: number, max: number): number[];
}

/** mulberry32: small, seedable, good enough to pick points */
export function drillRandom(seed = Number(process.env['MESHWAVE_DRILL_SEED'] || Date.now() % 2 ** 31)): DrillRandom {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  return {
    seed,
    int,
    distinct(n, min, max) {
      const out = new Set<number>();
      while (out.size < Math.min(n, max - min + 1)) out.add(int(min, max));
      return [...out];
    },
  };
}
