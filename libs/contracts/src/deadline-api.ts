import { z } from 'zod';

/** Burn-down samples kept per rollout (the newest); one is taken at most every 30 s, when the count changed. */
export const MAX_BURNDOWN_SAMPLES = 500;

/** A cluster whose observed convergence rate makes it finish after the deadline. */
export const SlowCluster = z.object({
  cluster: z.string(),
  /** units still to move there */
  remaining: z.number().int().nonnegative(),
  /** units per hour it converged so far (absent: none yet, the plan's estimate stands) */
  unitsPerHour: z.number().nonnegative().optional(),
  projectedCompletion: z.string(),
  /** seconds past the deadline */
  lateSeconds: z.number().nonnegative(),
});
export type SlowCluster = z.infer<typeof SlowCluster>;

/** The rollout's pace against its deadline (issue 18: the deadline at runtime). */
export const Burndown = z.object({
  /** units the rollout moves in all, and how many are on `to` now */
  total: z.number().int().nonnegative(),
  onTarget: z.number().int().nonnegative(),
  samples: z.array(z.object({ at: z.string(), onTarget: z.number().int().nonnegative() })).max(MAX_BURNDOWN_SAMPLES),
  /** when the last unit is projected on `to` (plus the soaks left), from each cluster's observed rate */
  projectedCompletion: z.string(),
  deadline: z.string(),
  /** the DeadlineAtRisk condition: the projection misses the deadline; why, and since when */
  atRisk: z.object({ since: z.string(), reason: z.string() }).optional(),
  slowClusters: z.array(SlowCluster).max(10_000),
  /** concurrency raised to catch up (×factor, within `pacing.maxUnavailableCeiling`), or why it cannot */
  pacing: z.object({ factor: z.number().min(1), note: z.string() }).optional(),
});
export type Burndown = z.infer<typeof Burndown>;
