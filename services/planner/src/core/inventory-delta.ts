import type { InventoryDelta, InventoryReport, InventoryWorkload } from '@meshwave/contracts';
import { chainPosition, mergeEntries, type EntryChange } from './delta-chain.js';

/** One workload's entry before and after a delta (absent: it was not there, or is gone). */
export type WorkloadChange = EntryChange<InventoryWorkload>;

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
  const position = chainPosition(held, (h) => h.generation, { seq: delta.generation, base: delta.base }, [
    'inventory',
    'generation',
  ]);
  if (position.kind !== 'apply') return position;
  return applyOn(position.held, delta);
}

function applyOn(held: InventoryReport, delta: InventoryDelta): DeltaOutcome {
  const { entries: workloads, changes } = mergeEntries(held.workloads, delta.upserted, delta.removed, keyOf);
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
    workloads,
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
