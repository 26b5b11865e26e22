// The planner as its Helm chart deploys it by default (deploy/helm/meshwave-planner/values.yaml), for the fleet
// benchmark's process mode: heap flags, malloc arenas, resync and leader lease.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const PLANNER_CHART_VALUES = fileURLToPath(
  new URL('../../../deploy/helm/meshwave-planner/values.yaml', import.meta.url),
);

/** A whole number ≥ 0 the planner chart's values.yaml sets. */
function chartNumber(values: Record<string, unknown>, key: string): number {
  const n = values[key];
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
    throw new Error(`${PLANNER_CHART_VALUES}: ${key} is not a whole number`);
  return n;
}

/**
 * The planner's heap flags as its chart deploys it by default (`maxOldSpaceMiB`, ADR 0062; `maxSemiSpaceMiB`,
 * ADR 0066).
 */
export function chartHeapFlags(valuesYaml: string = readFileSync(PLANNER_CHART_VALUES, 'utf8')): string[] {
  const values = parseYaml(valuesYaml) as Record<string, unknown>;
  const old = chartNumber(values, 'maxOldSpaceMiB');
  const semi = values['maxSemiSpaceMiB'] === undefined ? 0 : chartNumber(values, 'maxSemiSpaceMiB');
  return [
    ...(old === 0 ? [] : [`--max-old-space-size=${old}`]),
    ...(semi === 0 ? [] : [`--max-semi-space-size=${semi}`]),
  ];
}

/**
 * The planner's malloc settings as its chart deploys it by default (`mallocArenaMax`, ADR 0066;
 * `mallocMmapThresholdBytes`, ADR 0062 addendum).
 */
export function chartMallocEnv(
  valuesYaml: string = readFileSync(PLANNER_CHART_VALUES, 'utf8'),
): Record<string, string> {
  const values = parseYaml(valuesYaml) as Record<string, unknown>;
  const arenas = values['mallocArenaMax'] === undefined ? 0 : chartNumber(values, 'mallocArenaMax');
  const mmap = values['mallocMmapThresholdBytes'] === undefined ? 0 : chartNumber(values, 'mallocMmapThresholdBytes');
  return {
    ...(arenas === 0 ? {} : { MALLOC_ARENA_MAX: String(arenas) }),
    ...(mmap === 0 ? {} : { MALLOC_MMAP_THRESHOLD_: String(mmap) }),
  };
}

/**
 * How long the planner waits before it sends a lagging target the same desired state again, as its chart deploys
 * it (`planner.resyncMs`, MESHWAVE_RESYNC_MS). Not the embedded demo's 5 s: at prod-all (45 desired states of
 * ~160 KB) every agent of fleet (b) was still reading the dispatch after 5 s, and the resends (281 in 3 minutes,
 * each read by all 50 agents) only lengthened the backlog they were behind on (issue 15, ADR 0073).
 */
export function chartResyncMs(valuesYaml?: string): number {
  return plannerChartNumber('resyncMs', valuesYaml);
}

/**
 * The planner's leader lease as its chart deploys it (`planner.leaseTtlMs`, MESHWAVE_LEASE_TTL_MS). The bench ran
 * with 5 s, half the chart's default: a loop stalled past it in prod-all lost the lease the deployed planner keeps.
 */
export function chartLeaseTtlMs(valuesYaml?: string): number {
  return plannerChartNumber('leaseTtlMs', valuesYaml);
}

function plannerChartNumber(key: string, valuesYaml = readFileSync(PLANNER_CHART_VALUES, 'utf8')): number {
  const values = parseYaml(valuesYaml) as { planner?: Record<string, unknown> };
  return chartNumber(values.planner ?? {}, key);
}
