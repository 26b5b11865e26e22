import { z } from 'zod';
import { Plan, PlannedVmHost, PlannedWave, PlannedWorkload, SkippedWorkload } from './plan.js';
import { PlanRisk } from './preflight.js';
import { RolloutId } from './rollout-id.js';

// A started rollout's plan, read in parts (ADR 0039): the summary (waves with their counts, no unit) and pages of
// each wave's units and of what the plan skipped. At 100,000 units the whole plan is ≈15 MB of JSON; creating a
// rollout answers with its summary, so no answer grows with the fleet.

/** Items of each list a plan page may hold (`?limit=`); default 1,000. */
export const MAX_PLAN_PAGE_LIMIT = 5000;
export const DEFAULT_PLAN_PAGE_LIMIT = 1000;

/** A wave of a plan without its units: how many it moves. */
export const PlannedWaveSummary = PlannedWave.omit({ workloads: true, units: true, vmHosts: true }).extend({
  counts: z.object({
    workloads: z.number().int().nonnegative(),
    units: z.number().int().nonnegative(),
    vmHosts: z.number().int().nonnegative(),
  }),
});
export type PlannedWaveSummary = z.infer<typeof PlannedWaveSummary>;

/** A plan without its per-unit lists: its waves' counts, and how many workloads it skipped and risks it found. */
export const PlanSummary = Plan.omit({ waves: true, skipped: true, risks: true }).extend({
  waves: z.array(PlannedWaveSummary),
  counts: z.object({ skipped: z.number().int().nonnegative(), risks: z.number().int().nonnegative() }),
});
export type PlanSummary = z.infer<typeof PlanSummary>;

/** `POST /v1/rollouts`: the rollout started, with its plan's summary (the units: `GET .../plan/waves/{wave}`). */
export const CreatedRollout = z.object({ id: z.string(), phase: z.string(), plan: PlanSummary });
export type CreatedRollout = z.infer<typeof CreatedRollout>;

/** `?limit=&cursor=`: the cursor is the offset of the page's first item, from the previous page's `nextCursor`. */
export const PlanPageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_PLAN_PAGE_LIMIT).default(DEFAULT_PLAN_PAGE_LIMIT),
  cursor: z
    .string()
    .regex(/^\d{1,9}$/, 'a cursor from a previous page (an offset)')
    .optional(),
});
export type PlanPageQuery = z.infer<typeof PlanPageQuery>;

export const PlanWaveParams = z.strictObject({ id: RolloutId, wave: z.coerce.number().int().nonnegative().max(999) });

/**
 * `GET /v1/rollouts/{id}/plan/waves/{wave}`: a page of the wave's workloads, units and VM hosts, each list cut at
 * the same offset (a page holds up to `limit` of each); concatenating the pages gives the wave's lists in order.
 */
export const PlanWavePage = z.object({
  wave: z.number().int().nonnegative(),
  workloads: z.array(PlannedWorkload),
  units: z.array(z.string()),
  vmHosts: z.array(PlannedVmHost),
  /** cursor of the next page; absent on the last one */
  nextCursor: z.string().optional(),
});
export type PlanWavePage = z.infer<typeof PlanWavePage>;

/** `GET /v1/rollouts/{id}/plan/skipped`: a page of the workloads the plan skipped and of its risks, as above. */
export const PlanSkippedPage = z.object({
  skipped: z.array(SkippedWorkload),
  risks: z.array(PlanRisk),
  nextCursor: z.string().optional(),
});
export type PlanSkippedPage = z.infer<typeof PlanSkippedPage>;
