import {
  resolveRevision,
  type ClusterDetail,
  type ClusterView,
  type FleetView,
  type Inventory,
  type InventoryCluster,
} from '@meshwave/contracts';
import type { StoredInventoryCluster, StoredVmGroup } from '../runtime/store-layout.js';
import { ambientNamespacesOf, isAmbientWorkload } from '../core/ambient-workloads.js';

const NONE = 'none';

/** The sidecarless workloads of the cluster's ambient namespaces (ADR 0051), as the plan skips them. */
function isAmbientWorkloadOf(c: InventoryCluster): (w: InventoryCluster['workloads'][number]) => boolean {
  const ambient = ambientNamespacesOf(c.namespaces);
  return (w) => isAmbientWorkload(w, ambient);
}

// A workload labelled with a revision tag counts on the revision the tag points to in its cluster; its pods,
// injected through the tag, carry that revision too, so they are no mismatch. A sidecarless workload of an ambient
// namespace counts under `ambient`, on no revision and never as a mismatch.
function clusterView(c: InventoryCluster, reported: StoredInventoryCluster | undefined): ClusterView {
  const revisions: Record<string, number> = {};
  let mismatched = 0;
  let ambient = 0;
  const isAmbient = isAmbientWorkloadOf(c);
  for (const w of c.workloads) {
    if (isAmbient(w)) {
      ambient++;
      continue;
    }
    const assigned = resolveRevision(c.tags, w.revision);
    const r = assigned ?? NONE;
    revisions[r] = (revisions[r] ?? 0) + 1;
    if (w.injectedRevision !== undefined && w.injectedRevision !== assigned) mismatched++;
  }
  return {
    name: c.name,
    labels: { ...c.labels },
    ...(c.mesh !== undefined ? { mesh: c.mesh } : {}),
    generation: reported?.report.generation ?? 0,
    ...(reported ? { reportedAt: reported.receivedAt } : {}),
    workloads: c.workloads.length,
    revisions,
    mismatched,
    ...(ambient > 0 ? { ambient } : {}),
  };
}

/** Units per revision per cluster, VM hosts per version, and every revision still in use anywhere. */
export function buildFleetView(
  inventory: Inventory,
  reported: ReadonlyMap<string, StoredInventoryCluster>,
  vmReported: ReadonlyMap<string, StoredVmGroup>,
): FleetView {
  const clusters = inventory.clusters.map((c) => clusterView(c, reported.get(c.name)));
  const vmGroups = inventory.vmGroups.map((g) => {
    const versions: Record<string, number> = {};
    for (const h of g.hosts) versions[h.version ?? NONE] = (versions[h.version ?? NONE] ?? 0) + 1;
    return { name: g.name, hosts: g.hosts.length, versions };
  });
  for (const [name, r] of vmReported) {
    if (inventory.vmGroups.some((g) => g.name === name)) continue;
    const versions: Record<string, number> = {};
    for (const h of r.hosts) versions[h.version ?? NONE] = (versions[h.version ?? NONE] ?? 0) + 1;
    vmGroups.push({ name, hosts: r.hosts.length, versions });
  }
  const usage = new Map<string, { workloads: number; vmHosts: number; clusters: Set<string> }>();
  const use = (rev: string) => {
    let u = usage.get(rev);
    if (!u) usage.set(rev, (u = { workloads: 0, vmHosts: 0, clusters: new Set() }));
    return u;
  };
  for (const c of inventory.clusters) {
    for (const w of c.workloads) {
      // A workload keeps a control plane in use through its assigned (a tag: the one it points to) or its
      // still-injected revision.
      const assigned = resolveRevision(c.tags, w.revision);
      for (const rev of new Set([assigned, w.injectedRevision].filter((x): x is string => typeof x === 'string'))) {
        const u = use(rev);
        if (rev === assigned) u.workloads++;
        u.clusters.add(c.name);
      }
    }
  }
  for (const g of vmGroups) for (const [v, n] of Object.entries(g.versions)) if (v !== NONE) use(v).vmHosts += n;
  const revisions = [...usage]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([revision, u]) => ({
      revision,
      workloads: u.workloads,
      vmHosts: u.vmHosts,
      clusters: [...u.clusters].sort(),
    }));
  return { clusters, vmGroups, revisions };
}

export function buildClusterDetail(
  inventory: Inventory,
  reported: ReadonlyMap<string, StoredInventoryCluster>,
  name: string,
): ClusterDetail | undefined {
  const c = inventory.clusters.find((x) => x.name === name);
  if (!c) return undefined;
  return {
    ...clusterView(c, reported.get(name)),
    workloadList: c.workloads.map((w) => ({
      namespace: w.namespace,
      kind: w.kind,
      name: w.name,
      revision: w.revision,
      ...(w.injectedRevision !== undefined ? { injectedRevision: w.injectedRevision } : {}),
    })),
  };
}
