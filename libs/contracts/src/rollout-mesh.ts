import { z } from 'zod';

/**
 * The mesh a rollout upgrades (`spec.mesh`), when the fleet is split into meshes, each running its own
 * control-plane revision (issue 21, ADR 0049): the rollout selects only the units of namespaces in that mesh
 * (labelled `meshwave.io/mesh=<mesh>`, else the cluster's `mesh`), and its `from`/`to` are that mesh's revisions.
 * A label value, as the namespace label carries it: at most 63 characters.
 */
export const RolloutMeshName = z
  .string()
  .max(63, 'a mesh name has at most 63 characters')
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    'a mesh name as `meshwave split` makes them: lowercase alphanumerics and "-"',
  );

/** What a rollout's `mesh` rules out: `sequenceByMesh` orders the waves of several meshes, a mesh rollout has one. */
export function rolloutMeshIssues(spec: {
  readonly mesh?: string | undefined;
  readonly sequenceByMesh: boolean;
}): { readonly path: (string | number)[]; readonly message: string }[] {
  if (spec.mesh === undefined || !spec.sequenceByMesh) return [];
  return [
    {
      path: ['sequenceByMesh'],
      message: '`sequenceByMesh` orders several meshes: a rollout of one mesh (`mesh`) cannot also go mesh by mesh',
    },
  ];
}
