import { MAX_EXCLUSIONS_PER_ROLLOUT, type ExcludedUnit } from '@meshwave/contracts';
import type { RolloutRecord, RolloutState } from './rollout-state.js';

/** The unit key an exclusion names: `cluster/namespace` or `cluster/namespace/kind/name`. */
export function excludedUnitKey(u: ExcludedUnit): string {
  return u.kind !== undefined && u.name !== undefined
    ? `${u.cluster}/${u.namespace}/${u.kind}/${u.name}`
    : `${u.cluster}/${u.namespace}`;
}

export type ExclusionCheck =
  | { readonly ok: true; readonly added: readonly string[] }
  /** `problems` name the request's fields (`units[i]`) for a 422 */
  | { readonly ok: false; readonly why: string; readonly problems: readonly { path: string; message: string }[] };

/**
 * Which of `units` a rollout can still exclude. Exclusions are bounded (ADR 0015): each must cover a unit of the
 * rollout's plan (one that excludes nothing would only grow the state and hide a typo), and a rollout holds at
 * most MAX_EXCLUSIONS_PER_ROLLOUT of them.
 */
export function checkExclusions(
  record: RolloutRecord,
  state: RolloutState,
  units: readonly ExcludedUnit[],
): ExclusionCheck {
  const planned = new Set(record.plan.waves.flatMap((w) => w.units));
  // a namespace exclusion covers the workload units of that namespace
  const namespaces = new Set([...planned].map((p) => p.split('/').slice(0, 2).join('/')));
  const problems: { path: string; message: string }[] = [];
  const added: string[] = [];
  units.forEach((u, i) => {
    const key = excludedUnitKey(u);
    if (!planned.has(key) && !namespaces.has(key))
      problems.push({
        path: `units[${i}]`,
        message: `${key} is no unit of rollout ${record.id} (granularity ${record.plan.granularity}) and no namespace of one`,
      });
    else if (!state.excluded.includes(key) && !added.includes(key)) added.push(key);
  });
  if (problems.length > 0)
    return { ok: false, why: `${problems.length} exclusion(s) name nothing this rollout moves`, problems };
  if (state.excluded.length + added.length > MAX_EXCLUSIONS_PER_ROLLOUT)
    return {
      ok: false,
      why: `a rollout holds at most ${MAX_EXCLUSIONS_PER_ROLLOUT} exclusions; it has ${state.excluded.length} and this adds ${added.length}: exclude whole namespaces instead`,
      problems: [{ path: 'units', message: `more than ${MAX_EXCLUSIONS_PER_ROLLOUT} exclusions` }],
    };
  return { ok: true, added };
}
