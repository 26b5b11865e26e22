import type { Inventory, RolloutSpec } from '@meshwave/contracts';
import { meshResolver, type MeshOf } from './mesh-of.js';

/** Whether the namespace `namespace` of the cluster at `clusterIndex` is in the rollout's mesh. */
export type InMesh = (clusterIndex: number, namespace: string) => boolean;

/**
 * The units a rollout of one mesh (`spec.mesh`, ADR 0049) may select: those of namespaces in that mesh, by the
 * caller's assignment, else the namespace's `meshwave.io/mesh` label as its agent reports it, else the cluster's
 * `mesh`. A namespace of another mesh, or of none, is not the rollout's: never selected, never reported skipped
 * (another mesh's rollout moves it). Undefined for a rollout that names no mesh: every namespace is its own.
 * So two meshes' rollouts select disjoint units, and each checks Istio's rules only where it moves units: with its
 * own mesh's `from` and `to`.
 */
export function rolloutMeshFilter(
  body: Pick<RolloutSpec['spec'], 'mesh'>,
  inventory: Inventory,
  given?: MeshOf,
): InMesh | undefined {
  const mesh = body.mesh;
  if (mesh === undefined) return undefined;
  const meshOf = meshResolver(given, inventory);
  const clusters = inventory.clusters;
  return (ci, namespace) => {
    const c = clusters[ci];
    return c !== undefined && (meshOf(c.name, namespace) ?? c.mesh) === mesh;
  };
}
