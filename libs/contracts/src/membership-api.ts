import { z } from 'zod';

/** At most one entry per cluster in each list: a fleet has at most this many clusters (ADR 0036). */
export const MAX_MEMBERSHIP_CLUSTERS = 10_000;

/** A cluster whose units a wave left out (its agent Unreachable) and that no wave has taken back since. */
export const SkippedCluster = z.object({
  cluster: z.string(),
  /** how many of its units wait */
  units: z.number().int().nonnegative(),
  /** the wave that last skipped them */
  wave: z.number().int().nonnegative(),
  /** where they come back: the next wave to start (or the forced wave) if the cluster is reachable then, or never */
  comesBack: z.string(),
});
export type SkippedCluster = z.infer<typeof SkippedCluster>;

/**
 * Who takes part in the rollout (issue 18, membership changes): clusters Unreachable now, what each started
 * wave took, what waits to come back, and what joined. Absent on rollouts that never saw a membership change.
 */
export const MembershipStatus = z.object({
  /** clusters of the current wave silent past the planner's heartbeat timeout, since when */
  unreachable: z.array(z.object({ cluster: z.string(), silentSince: z.string() })).max(MAX_MEMBERSHIP_CLUSTERS),
  /** per started wave, the clusters it took when it started (its snapshot) */
  snapshots: z.array(z.object({ wave: z.number().int().nonnegative(), clusters: z.array(z.string()) })),
  skipped: z.array(SkippedCluster).max(MAX_MEMBERSHIP_CLUSTERS),
  /** per wave, units taken beyond its plan (a cluster that joined, skipped units back), by cluster */
  added: z.array(
    z.object({ wave: z.number().int().nonnegative(), cluster: z.string(), units: z.number().int().nonnegative() }),
  ),
});
export type MembershipStatus = z.infer<typeof MembershipStatus>;
