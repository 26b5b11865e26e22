import { MAX_PLAN_PAGE_LIMIT, type Plan, type PlannedWave } from '@meshwave/contracts';
import type { PlannerClient } from './planner-client.js';

type PlanPages = Pick<PlannerClient, 'rolloutPlanSummary' | 'planWavePage' | 'planSkippedPage'>;

/** Follows a paged list to its end: `read(cursor)` gives a page and its next cursor. */
async function allPages<P extends { nextCursor?: string }>(read: (cursor?: string) => Promise<P>): Promise<P[]> {
  const pages: P[] = [];
  let cursor: string | undefined;
  do {
    const page = await read(cursor);
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return pages;
}

/**
 * A started rollout's whole plan, read as its summary and pages of the largest size (ADR 0039): what the demo and
 * the fleet benchmark need (every unit and VM host) without one answer that grows with the fleet.
 */
export async function readRolloutPlan(client: PlanPages, id: string, limit = MAX_PLAN_PAGE_LIMIT): Promise<Plan> {
  const { waves: summaries, counts: _counts, ...rest } = await client.rolloutPlanSummary(id);
  const waves: PlannedWave[] = [];
  for (const [w, { counts: _waveCounts, ...summary }] of summaries.entries()) {
    const pages = await allPages((cursor) =>
      client.planWavePage(id, w, { limit, ...(cursor === undefined ? {} : { cursor }) }),
    );
    waves.push({
      ...summary,
      workloads: pages.flatMap((p) => p.workloads),
      units: pages.flatMap((p) => p.units),
      vmHosts: pages.flatMap((p) => p.vmHosts),
    });
  }
  const pages = await allPages((cursor) =>
    client.planSkippedPage(id, { limit, ...(cursor === undefined ? {} : { cursor }) }),
  );
  return { ...rest, waves, skipped: pages.flatMap((p) => p.skipped), risks: pages.flatMap((p) => p.risks) };
}
