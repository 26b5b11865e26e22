import type { HealthReport } from '@meshwave/contracts';

/**
 * How old a health report may be when the planner reads it (ADR 0038): agents send one every 15 s and on every
 * change, so a report older than this is a replay or a backlog, and judging gates on it would judge the past.
 */
export const HEALTH_REPORT_MAX_AGE_MS = 120_000;
/**
 * How far ahead of the planner's clock a report's `observedAt`, or the generation of an agent's report (inventory,
 * delta, health: the agent's clock in ms, or the last one + 1), may be: clock skew, as the bus allows on expiry.
 */
export const HEALTH_REPORT_MAX_SKEW_MS = 30_000;

/**
 * Why an agent's report must be refused for its generation, or undefined: generations follow the agent's clock
 * (`max(last + 1, now)`), so one far ahead of the planner's is forged (a stolen key sending MAX_SAFE_INTEGER), and
 * taken it would make every genuine report after it look replayed, even once the key is rotated (ADR 0038).
 */
export function futureGenerationRefusal(generation: number, nowMs: number): string | undefined {
  if (generation <= nowMs + HEALTH_REPORT_MAX_SKEW_MS) return undefined;
  return `from the future: generation ${generation} is more than ${HEALTH_REPORT_MAX_SKEW_MS / 1000}s ahead of the planner's clock`;
}

/**
 * Why a health report must be refused, or undefined when it is taken: a generation not above the last one taken
 * from its source (a replay, or a copy delivered again), or observed too long ago, or in the future.
 */
export function healthReportRefusal(
  last: Pick<HealthReport, 'generation'> | undefined,
  report: Pick<HealthReport, 'generation' | 'observedAt'>,
  nowMs: number,
): string | undefined {
  if (last !== undefined && report.generation <= last.generation)
    return `replayed: generation ${report.generation} is not above ${last.generation}, the last one taken`;
  const future = futureGenerationRefusal(report.generation, nowMs);
  if (future !== undefined) return future;
  const observedMs = Date.parse(report.observedAt);
  if (observedMs < nowMs - HEALTH_REPORT_MAX_AGE_MS)
    return `stale: observed at ${report.observedAt}, more than ${HEALTH_REPORT_MAX_AGE_MS / 1000}s ago`;
  if (observedMs > nowMs + HEALTH_REPORT_MAX_SKEW_MS)
    return `from the future: observed at ${report.observedAt}, more than ${HEALTH_REPORT_MAX_SKEW_MS / 1000}s ahead`;
  return undefined;
}
