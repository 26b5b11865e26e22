import {
  PlanProblemCode,
  resolveRevision,
  type Inventory,
  type PlannedGatewayStep,
  type PlanProblem,
  type RolloutSpec,
} from '@meshwave/contracts';
import { controlPlaneProblems } from './control-plane-checks.js';
import type { MeshOf } from './mesh-of.js';
import { UNASSIGNED } from './plan-report.js';
import type { UnitTable } from './unit-table.js';

/** What a plan moves, as Istio's rules look at it. */
export interface PlannedMoves {
  readonly units: UnitTable;
  /** per unit, the wave it moves in, UNASSIGNED for none */
  readonly assigned: Int32Array;
  readonly gatewaySteps: readonly PlannedGatewayStep[];
  /** clusters with ambient steps */
  readonly ambientClusters: ReadonlySet<string>;
}

/**
 * Istio's rules, checked in the clusters the plan moves units, gateways or node agents in (ADR 0028), and the
 * meshes of their control planes (ADR 0056).
 */
export function istioRuleProblems(
  body: RolloutSpec['spec'],
  clusters: Inventory['clusters'],
  moves: PlannedMoves,
  meshOf: MeshOf,
): PlanProblem[] {
  const { units, assigned } = moves;
  /** per cluster index, the mesh of each namespace the plan moves something in (null: of no mesh) */
  const meshes = new Map<number, Set<string | null>>();
  const add = (ci: number, namespace: string): void => {
    const c = clusters[ci]!;
    const set = meshes.get(ci) ?? new Set();
    set.add(meshOf(c.name, namespace) ?? c.mesh ?? null);
    meshes.set(ci, set);
  };
  for (let u = 0; u < units.size; u++)
    if (assigned[u] !== UNASSIGNED) add(units.cluster[u]!, units.namespaceNames[units.namespaceId[u]!]!);
  const index = new Map(clusters.map((c, ci) => [c.name, ci]));
  for (const s of moves.gatewaySteps) for (const g of s.gateways) add(index.get(g.cluster)!, g.namespace);
  const movingIn = clusters.filter((c, ci) => meshes.has(ci) || moves.ambientClusters.has(c.name));
  return [...controlPlaneProblems(body, movingIn), ...controlPlaneMeshProblems(body, clusters, meshes)];
}

/**
 * A control plane serving one mesh (its `discoverySelectors`, as its agent reports them) discovers only that mesh's
 * namespaces: pods it injects elsewhere would get no configuration of theirs. So a plan moving namespaces of another
 * mesh, or of none, onto a `to` whose istiod serves a mesh is refused (CONTROL_PLANE_OF_ANOTHER_MESH). A control
 * plane reported without a mesh discovers every namespace: nothing to check.
 */
export function controlPlaneMeshProblems(
  body: RolloutSpec['spec'],
  clusters: Inventory['clusters'],
  meshes: ReadonlyMap<number, ReadonlySet<string | null>>,
): PlanProblem[] {
  const problems: PlanProblem[] = [];
  for (const [ci, moved] of [...meshes].sort(([a], [b]) => a - b)) {
    const c = clusters[ci]!;
    const revision = resolveRevision(c.tags, body.to);
    const served = c.controlPlanes?.find((p) => p.revision === revision)?.mesh;
    if (served === undefined) continue;
    const others = [...moved].filter((m) => m !== served);
    if (others.length === 0) continue;
    const what = others.map((m) => (m === null ? 'no mesh' : `mesh ${m}`)).sort();
    problems.push({
      code: PlanProblemCode.ControlPlaneOfAnotherMesh,
      message: `cluster ${c.name}: the control plane of ${body.to} serves mesh ${served} (its discoverySelectors), but the rollout moves namespaces of ${what.join(' and ')} there, which it does not discover`,
      cluster: c.name,
      blocking: true,
      refusal: true,
    });
  }
  return problems;
}
