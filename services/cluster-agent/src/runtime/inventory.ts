import {
  InventoryNamespace as InventoryNamespaceSchema,
  InventoryWorkload as InventoryWorkloadSchema,
  RevisionName,
  type InventoryNamespace,
  type InventoryWorkload,
} from '@meshwave/contracts';
import { PROTECTED_NAMESPACES, injectedRevisionOf } from '@meshwave/istio';
import { assignedRevisionOf } from '../core/converge-decisions.js';
import { selectorMatches } from '../ports/kubernetes-port.js';
import type { ClusterCache } from './cluster-cache.js';

/** The workloads of the cluster as the inventory reports them, with their assigned and injected revisions. */
export function inventoryWorkloads(cache: ClusterCache): InventoryWorkload[] {
  const out: InventoryWorkload[] = [];
  for (const w of cache.workloads()) {
    if (PROTECTED_NAMESPACES.includes(w.namespace)) continue;
    const pods = cache
      .pods(w.namespace)
      .filter((p) => p.controlled && !p.terminating && selectorMatches(w.selector, p.labels));
    const injected = pods.map((p) => injectedRevisionOf(p.annotations)).find((r) => r !== null) ?? null;
    const assigned = assignedRevisionOf(cache.namespace(w.namespace), w);
    const candidate = {
      namespace: w.namespace,
      kind: w.kind,
      name: w.name,
      labels: w.labels,
      revision: assigned !== null && RevisionName.safeParse(assigned).success ? assigned : null,
      injectedRevision: injected !== null && RevisionName.safeParse(injected).success ? injected : null,
      replicas: w.replicas,
    };
    const parsed = InventoryWorkloadSchema.safeParse(candidate);
    if (parsed.success) out.push(parsed.data);
  }
  return out;
}

// Namespaces with their labels: the planner learns each one's mesh (`meshwave.io/mesh`) from them. A label
// change arrives as a namespace watch event, which schedules the debounced inventory like any other change.
export function inventoryNamespaces(cache: ClusterCache): InventoryNamespace[] {
  const out: InventoryNamespace[] = [];
  for (const ns of cache.allNamespaces()) {
    if (PROTECTED_NAMESPACES.includes(ns.name)) continue;
    const parsed = InventoryNamespaceSchema.safeParse({ name: ns.name, labels: ns.labels });
    if (parsed.success) out.push(parsed.data);
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
