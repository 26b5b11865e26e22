import type { Plan, PlanPageQuery, PlanSkippedPage, PlanSummary, PlanWavePage } from '@meshwave/contracts';
import { PlannerError, PlannerErrorCode } from '../errors.js';

// A started rollout's plan in parts (ADR 0039): its summary, and pages of its per-unit lists. Pure: the plan is
// the rollout's record as read.

/** The plan without its per-unit lists: waves with their counts, counts of what it skipped and the risks. */
export function summarizePlan(plan: Plan): PlanSummary {
  const { waves, skipped, risks, ...rest } = plan;
  return {
    ...rest,
    waves: waves.map(({ workloads, units, vmHosts, ...wave }) => ({
      ...wave,
      counts: { workloads: workloads.length, units: units.length, vmHosts: vmHosts.length },
    })),
    counts: { skipped: skipped.length, risks: risks.length },
  };
}

/** Each list cut at the same offset; the next cursor while any list has more. */
function pageOf<L extends Record<string, readonly unknown[]>>(
  lists: L,
  query: PlanPageQuery,
): { [K in keyof L]: L[K][number][] } & { nextCursor?: string } {
  const from = query.cursor === undefined ? 0 : Number(query.cursor);
  const to = from + query.limit;
  const page = Object.fromEntries(Object.entries(lists).map(([name, list]) => [name, list.slice(from, to)])) as {
    [K in keyof L]: L[K][number][];
  };
  const more = Object.values(lists).some((list) => list.length > to);
  return more ? { ...page, nextCursor: String(to) } : page;
}

/** A page of wave `wave`'s workloads, units and VM hosts; 404 when the plan has no such wave. */
export function planWavePage(plan: Plan, wave: number, query: PlanPageQuery): PlanWavePage {
  const planned = plan.waves[wave];
  if (planned === undefined)
    throw new PlannerError(
      PlannerErrorCode.WaveNotFound,
      `the plan has no wave ${wave} (it has ${plan.waves.length})`,
      {
        context: { wave, waves: plan.waves.length },
      },
    );
  return {
    wave,
    ...pageOf({ workloads: planned.workloads, units: planned.units, vmHosts: planned.vmHosts }, query),
  };
}

/** A page of the workloads the plan skipped and of its risks. */
export function planSkippedPage(plan: Plan, query: PlanPageQuery): PlanSkippedPage {
  return pageOf({ skipped: plan.skipped, risks: plan.risks }, query);
}
