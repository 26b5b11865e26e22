import { meshOfNamespaceLabels, type Inventory } from '@meshwave/contracts';

/** The mesh a namespace of a cluster belongs to, or undefined when the answerer does not know. */
export type MeshOf = (cluster: string, namespace: string) => string | undefined;

/** The mesh of a unit whose namespace and cluster say nothing. */
export const DEFAULT_MESH = 'default';

/**
 * The mesh of a namespace as the inventory records it: its `meshwave.io/mesh` label, for the clusters that
 * list their namespaces (agents do); undefined for a namespace without the label or not listed.
 */
export function inventoryMeshOf(inventory: Inventory): MeshOf {
  const meshes = new Map<string, Map<string, string>>();
  for (const c of inventory.clusters) {
    const byNamespace = new Map<string, string>();
    for (const ns of c.namespaces ?? []) {
      const mesh = meshOfNamespaceLabels(ns.labels);
      if (mesh !== undefined) byNamespace.set(ns.name, mesh);
    }
    if (byNamespace.size > 0) meshes.set(c.name, byNamespace);
  }
  return (cluster, namespace) => meshes.get(cluster)?.get(namespace);
}

/** The caller's assignment first, then the inventory's namespace labels (the cluster `mesh` comes after both). */
export function meshResolver(given: MeshOf | undefined, inventory: Inventory): MeshOf {
  const recorded = inventoryMeshOf(inventory);
  if (given === undefined) return recorded;
  return (cluster, namespace) => given(cluster, namespace) ?? recorded(cluster, namespace);
}
