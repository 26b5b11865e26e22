import type { InventoryDelta, InventoryReport, InventoryWorkload } from '@meshwave/contracts';

/** One workload's entry before and after a delta (absent: it was not there, or is gone). */
export interface WorkloadChange {
  readonly before?: InventoryWorkload;
  readonly after?: InventoryWorkload;
}

/**
 * What a delta does to the inventory the planner holds of its cluster (ADR 0031):
 * - `applied`: it follows the held report; `report` is the cluster's inventory after it;
 * - `stale`: the held report is as new or newer (a redelivery): nothing to do;
 * - `gap`: it follows a report the planner never got (or none is held): the agent is asked for the whole one.
 */
export type DeltaOutcome =
  | { readonly kind: 'applied'; readonly report: InventoryReport; readonly changes: readonly WorkloadChange[] }
  | { readonly kind: 'stale' }
  | { readonly kind: 'gap'; readonly reason: string };

const keyOf = (w: { readonly namespace: string; readonly kind: string; readonly name: string }): string =>
  `${w.namespace}/${w.kind}/${w.name}`;

export function applyInventoryDelta(held: InventoryReport | undefined, delta: InventoryDelta): DeltaOutcome {
  if (held === undefined) return { kind: 'gap', reason: 'the planner holds no inventory of this cluster' };
  if (delta.generation <= held.generation) return { kind: 'stale' };
  if (delta.base !== held.generation)
    return {
      kind: 'gap',
      reason: `a delta on generation ${delta.base} arrived; the planner holds generation ${held.generation}`,
    };
  const workloads = new Map(held.workloads.map((w) => [keyOf(w), w]));
  const changes: WorkloadChange[] = [];
  for (const ref of delta.removed) {
    const before = workloads.get(keyOf(ref));
    if (before === undefined) continue;
    workloads.delete(keyOf(ref));
    changes.push({ before });
  }
  for (const after of delta.upserted) {
    const before = workloads.get(keyOf(after));
    workloads.set(keyOf(after), after);
    changes.push(before === undefined ? { after } : { before, after });
  }
  const namespaces = delta.namespaces ?? held.namespaces;
  const controlPlanes = delta.controlPlanes ?? held.controlPlanes;
  const tags = delta.tags ?? held.tags;
  const gateways = delta.gateways ?? held.gateways;
  const ambient = delta.ambient ?? held.ambient;
  // the truncation mark goes with the list it describes
  const pods = delta.revisionPods === undefined ? held : delta;
  const { revisionPods, revisionPodsTruncated } = pods;
  const report: InventoryReport = {
    cluster: held.cluster,
    labels: delta.labels,
    generation: delta.generation,
    workloads: [...workloads.values()],
    // a field the delta leaves out is unchanged (never "none")
    ...(namespaces === undefined ? {} : { namespaces }),
    ...(controlPlanes === undefined ? {} : { controlPlanes }),
    ...(tags === undefined ? {} : { tags }),
    ...(revisionPods === undefined ? {} : { revisionPods }),
    ...(revisionPodsTruncated === undefined ? {} : { revisionPodsTruncated }),
    ...(gateways === undefined ? {} : { gateways }),
    ...(ambient === undefined ? {} : { ambient }),
  };
  return { kind: 'applied', report, changes };
}
