import type { Inventory } from '@meshwave/contracts';
import { CompiledSelector, rolloutMeshFilter } from '@meshwave/plan';
import type { RolloutRecord, RolloutState } from './rollout-state.js';
import { isExcluded } from './unit-observations.js';

/**
 * What a forced wave takes beyond its plan when it starts (the deadline's promise: everything ends on `to`):
 * every unit of the fleet as it is now still on `from` that no wave holds — workloads created during the
 * rollout, and inactive ones (no replicas) included — within the wave's own selector, minus the file's
 * `exclude` and the operator's exclusions. Pure: the runtime hands the inventory in.
 */
export function stragglersOf(
  record: RolloutRecord,
  state: RolloutState,
  w: number,
  inventory: Inventory,
  held: ReadonlySet<string>,
): string[] {
  const body = record.spec.spec;
  const planned = record.plan.waves[w];
  if (planned === undefined || !planned.forced) return [];
  const clusters = inventory.clusters;
  const selectorOf = body.waves.find((x) => x.name === planned.name)?.select;
  const select = selectorOf !== undefined ? new CompiledSelector(selectorOf, clusters) : undefined;
  const excludes = body.exclude.map((x) => new CompiledSelector(x, clusters));
  // a rollout of one mesh takes no straggler of another mesh (ADR 0049)
  const inMesh = rolloutMeshFilter(body, inventory);
  const out = new Set<string>();
  clusters.forEach((c, ci) => {
    for (const wl of c.workloads) {
      if (wl.revision !== body.from || (inMesh !== undefined && !inMesh(ci, wl.namespace))) continue;
      if (select !== undefined && !select.matches(ci, wl)) continue;
      if (excludes.some((x) => x.matches(ci, wl))) continue;
      const unit =
        body.granularity === 'namespace'
          ? `${c.name}/${wl.namespace}`
          : `${c.name}/${wl.namespace}/${wl.kind}/${wl.name}`;
      if (held.has(unit) || isExcluded(unit, state.excluded)) continue;
      out.add(unit);
    }
  });
  return [...out].sort();
}
