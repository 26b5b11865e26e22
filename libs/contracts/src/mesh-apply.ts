import { z } from 'zod';
import { ObjectName, RevisionName } from './primitives.js';
import { MESH_LABEL } from './inventory.js';
import { RolloutMeshName } from './rollout-mesh.js';

// Applying a split (`meshwave split --apply`, `POST /v1/meshes/apply`; issue 21, ADR 0049): the planner tells each
// cluster's agent which mesh each of its namespaces belongs to and which mesh each control-plane revision serves;
// the agent converges the namespaces' `meshwave.io/mesh` labels and each revision's `discoverySelectors`.

/** At most this many namespaces in one apply (and in one cluster's command), and control planes per apply. */
export const MAX_APPLY_NAMESPACES = 10_000;
export const MAX_APPLY_CONTROL_PLANES = 100;

/** One mesh of a split as applied: its name, its control-plane revision, its namespaces. */
export const MeshAssignment = z.strictObject({
  mesh: RolloutMeshName,
  /** the mesh's own control plane (`<mesh>-<revision>` from `meshwave split --revision`) */
  revision: RevisionName,
  namespaces: z.array(ObjectName).max(MAX_APPLY_NAMESPACES),
});
export type MeshAssignment = z.infer<typeof MeshAssignment>;

/** `POST /v1/meshes/apply`. */
export const MeshApplyRequest = z
  .strictObject({
    meshes: z.array(MeshAssignment).min(1).max(MAX_APPLY_CONTROL_PLANES),
    /** cluster name globs to apply in; default every cluster of the inventory */
    clusters: z.array(z.string().min(1).max(253)).max(100).optional(),
    /** only say what would change (the default: applying takes `dryRun: false`) */
    dryRun: z.boolean().default(true),
    /** why, for the audit */
    reason: z.string().trim().min(1).max(1000).optional(),
  })
  .superRefine((body, ctx) => {
    const seen = new Map<string, number>();
    body.meshes.forEach((m, i) =>
      m.namespaces.forEach((ns, j) => {
        const first = seen.get(ns);
        if (first !== undefined && first !== i)
          ctx.addIssue({
            code: 'custom',
            path: ['meshes', i, 'namespaces', j],
            message: `namespace ${ns} is in two meshes (${body.meshes[first]!.mesh} and ${m.mesh})`,
          });
        seen.set(ns, i);
      }),
    );
    if (seen.size > MAX_APPLY_NAMESPACES)
      ctx.addIssue({ code: 'custom', path: ['meshes'], message: `at most ${MAX_APPLY_NAMESPACES} namespaces in all` });
  });
export type MeshApplyRequest = z.input<typeof MeshApplyRequest>;

/** A namespace whose mesh label changes: `from` absent when it had none. */
export const NamespaceMeshChange = z.strictObject({
  namespace: ObjectName,
  from: z.string().optional(),
  to: RolloutMeshName,
});
export type NamespaceMeshChange = z.infer<typeof NamespaceMeshChange>;

/** What an apply changes in one cluster, as the planner's inventory shows the cluster now. */
export const ClusterMeshChanges = z.strictObject({
  cluster: z.string(),
  namespaces: z.array(NamespaceMeshChange),
  /** the revisions whose `discoverySelectors` the agent sets to their mesh (a no-op where already so) */
  controlPlanes: z.array(z.strictObject({ revision: RevisionName, mesh: RolloutMeshName })),
});
export type ClusterMeshChanges = z.infer<typeof ClusterMeshChanges>;

/** `POST /v1/meshes/apply`: the diff, and whether it was sent to the agents. */
export const MeshApplyResult = z.strictObject({
  dryRun: z.boolean(),
  clusters: z.array(ClusterMeshChanges),
  /** the commands' generation (absent for a dry run) */
  generation: z.number().int().positive().optional(),
});
export type MeshApplyResult = z.infer<typeof MeshApplyResult>;

/** The command to one cluster's agent: its namespaces' meshes and the meshes its control-plane revisions serve. */
export const MeshSplitCommand = z.strictObject({
  cluster: z.string(),
  /** the planner's time of the apply, ms: a later apply supersedes an earlier one */
  generation: z.number().int().positive(),
  /** the planner leader's fencing epoch; lower than the highest the agent has seen → refused */
  epoch: z.number().int().positive(),
  namespaces: z.array(z.strictObject({ name: ObjectName, mesh: RolloutMeshName })).max(MAX_APPLY_NAMESPACES),
  controlPlanes: z
    .array(z.strictObject({ revision: RevisionName, mesh: RolloutMeshName }))
    .max(MAX_APPLY_CONTROL_PLANES),
});
export type MeshSplitCommand = z.infer<typeof MeshSplitCommand>;

/** The namespace of the control planes: every mesh's istiod must still see it (its own config lives there). */
export const CONTROL_PLANE_NAMESPACE = 'istio-system';

/**
 * A mesh's istiod discovers the namespaces labelled for the mesh, and its own (Istio's `discoverySelectors`: a
 * namespace matching any selector is discovered). The same in the split's IstioOperator and in what an apply writes.
 */
export function meshDiscoverySelectors(mesh: string): { matchLabels: Record<string, string> }[] {
  return [
    { matchLabels: { [MESH_LABEL]: mesh } },
    { matchLabels: { 'kubernetes.io/metadata.name': CONTROL_PLANE_NAMESPACE } },
  ];
}
