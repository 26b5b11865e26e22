import {
  MESH_LABEL,
  type ClusterMeshChanges,
  type Inventory,
  type MeshApplyRequest,
  type MeshSplitCommand,
} from '@meshwave/contracts';
import { compileGlobs } from '@meshwave/plan';

/** The apply as parsed (dryRun defaulted). */
type Apply = Pick<MeshApplyRequest, 'meshes' | 'clusters'>;

/** Per cluster the apply touches: the commands' content (every namespace of a mesh it has) and the diff shown. */
export interface ClusterApply {
  readonly changes: ClusterMeshChanges;
  readonly namespaces: MeshSplitCommand['namespaces'];
}

/**
 * What applying a split means for each cluster, from the inventory as the agents report it (pure): every namespace
 * of a mesh that the cluster has gets the mesh's label (listed as a change where its label differs now), and each
 * mesh's revision gets the mesh as its discovery selector. A namespace the cluster does not have is not created; a
 * cluster with no namespace of any mesh is left out. Only the mesh label is written: moving a mesh's workloads onto
 * its revision is a rollout of that mesh (`mesh:`), gated and in waves, never a side effect of the split.
 */
export function meshSplitDiff(apply: Apply, inventory: Inventory): ClusterApply[] {
  const inScope = compileGlobs(apply.clusters);
  const meshOf = new Map<string, string>();
  for (const m of apply.meshes) for (const ns of m.namespaces) meshOf.set(ns, m.mesh);
  const controlPlanes = apply.meshes.map((m) => ({ revision: m.revision, mesh: m.mesh }));
  const out: ClusterApply[] = [];
  for (const c of inventory.clusters) {
    if (!inScope(c.name)) continue;
    const labels = new Map((c.namespaces ?? []).map((n) => [n.name, n.labels[MESH_LABEL]] as const));
    // the cluster's namespaces: as listed with their labels, else as its workloads name them (labels unknown)
    for (const w of c.workloads) if (!labels.has(w.namespace)) labels.set(w.namespace, undefined);
    const namespaces: MeshSplitCommand['namespaces'] = [];
    const changes: ClusterMeshChanges['namespaces'] = [];
    for (const [name, current] of [...labels].sort(([a], [b]) => a.localeCompare(b))) {
      const mesh = meshOf.get(name);
      if (mesh === undefined) continue;
      namespaces.push({ name, mesh });
      if (current !== mesh) changes.push({ namespace: name, ...(current ? { from: current } : {}), to: mesh });
    }
    if (namespaces.length === 0) continue;
    out.push({ changes: { cluster: c.name, namespaces: changes, controlPlanes }, namespaces });
  }
  return out;
}
