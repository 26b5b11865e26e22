import { z } from 'zod';
import { Labels, MAX_COUNT, RevisionName } from './primitives.js';

/** Most meshes one split may make: each is a control plane to run; far beyond any real fleet. ADR 0013. */
export const MAX_MESHES = 1000;

/**
 * One unit the mesh splitter places: a namespace, or a workload inside one. `weight` is its pod count (the
 * blast-radius currency). Units that share a `namespace` always land in the same mesh, because a mesh selects
 * its namespaces by label (`meshConfig.discoverySelectors`), so a namespace cannot straddle two meshes.
 */
export const ServiceGraphNode = z.strictObject({
  id: z.string().min(1),
  /** pods of this unit */
  weight: z
    .number()
    .nonnegative()
    .max(MAX_COUNT, `at most ${MAX_COUNT} pods`)
    .default(1)
    .describe(`pods of this unit, 0 to ${MAX_COUNT}`),
  /** the Kubernetes namespace the unit lives in; defaults to `id` (the unit is a namespace) */
  namespace: z.string().min(1).optional(),
  /** units with the same group (a team, an application) must stay in one mesh */
  group: z.string().min(1).optional(),
  /** the mesh this unit must be in, e.g. `mesh-b` */
  pinned: z.string().min(1).optional(),
  labels: Labels.optional(),
});
export type ServiceGraphNode = z.infer<typeof ServiceGraphNode>;

/** Traffic between two units (requests per second, either direction; both directions add up). */
export const ServiceGraphEdge = z.strictObject({
  source: z.string().min(1),
  target: z.string().min(1),
  weight: z.number().nonnegative().default(1),
});
export type ServiceGraphEdge = z.infer<typeof ServiceGraphEdge>;

/** Units and the traffic between them; the input of `meshwave split` and `POST /v1/meshes/split`. */
export const ServiceGraph = z
  .strictObject({
    nodes: z.array(ServiceGraphNode),
    edges: z.array(ServiceGraphEdge).default([]),
  })
  .superRefine((g, ctx) => {
    const ids = new Set<string>();
    g.nodes.forEach((n, i) => {
      if (ids.has(n.id))
        ctx.addIssue({ code: 'custom', path: ['nodes', i, 'id'], message: `duplicate node "${n.id}"` });
      ids.add(n.id);
    });
    g.edges.forEach((e, i) => {
      for (const end of ['source', 'target'] as const) {
        if (!ids.has(e[end]))
          ctx.addIssue({ code: 'custom', path: ['edges', i, end], message: `unknown node "${e[end]}"` });
      }
    });
  });
export type ServiceGraph = z.infer<typeof ServiceGraph>;

/** How to split: `meshes` (k) or `maxMeshSize` (pods, count or `25%`), or both. */
export const MeshSplitOptions = z
  .strictObject({
    meshes: z
      .number()
      .int()
      .positive()
      .max(MAX_MESHES, `at most ${MAX_MESHES} meshes`)
      .optional()
      .describe(`number of meshes, 1 to ${MAX_MESHES}`),
    /** a cap below the heaviest unit (e.g. `0%`) cannot be met: the split refuses it (422) before any work */
    maxMeshSize: z
      .union([
        z.number().positive(),
        z
          .string()
          .regex(/^\d+(\.\d+)?%$/, 'a share such as 25%')
          .refine((share) => Number(share.slice(0, -1)) <= 100, 'a share of at most 100%'),
      ])
      .optional()
      .describe('largest mesh: pods (above 0), or a share of all pods from 0% to 100%'),
    /** allowed imbalance: a mesh may weigh at most (1 + imbalance) × the average; 0.03 = 3% */
    imbalance: z.number().min(0).max(10).default(0.03),
    seed: z.number().int().default(1),
    /** the Istio version the meshes' control planes run, e.g. 1-25-2; revision names become `<mesh>-<revision>` */
    revision: RevisionName.optional(),
    /** a node label whose value names a group that must stay together (e.g. `team`) */
    groupBy: z.string().min(1).optional(),
    meshPrefix: z
      .string()
      .regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/)
      .default('mesh'),
  })
  .refine(
    (o) => o.meshes !== undefined || o.maxMeshSize !== undefined,
    'give the number of meshes or a maximum mesh size',
  );
export type MeshSplitOptions = z.input<typeof MeshSplitOptions>;
export type ResolvedMeshSplitOptions = z.output<typeof MeshSplitOptions>;

/** A call path that crosses meshes: needs an east-west gateway or a ServiceEntry after the split. */
export const CrossMeshEdge = z.strictObject({
  source: z.string(),
  target: z.string(),
  sourceMesh: z.string(),
  targetMesh: z.string(),
  traffic: z.number(),
});
export type CrossMeshEdge = z.infer<typeof CrossMeshEdge>;

/** What one mesh holds and how much a bad control plane there could hurt. */
export const MeshSummary = z.strictObject({
  name: z.string(),
  revision: RevisionName,
  units: z.number().int(),
  namespaces: z.array(z.string()),
  pods: z.number(),
  /** pods in this mesh / all pods */
  podShare: z.number(),
  /** traffic with at least one end in this mesh / all traffic */
  trafficShare: z.number(),
  /** traffic leaving or entering this mesh across its border */
  crossTraffic: z.number(),
});
export type MeshSummary = z.infer<typeof MeshSummary>;

/** Patch for one namespace, as a JSON merge patch (`null` deletes a label). */
export const NamespaceLabelPatch = z.strictObject({
  namespace: z.string(),
  patchType: z.literal('application/merge-patch+json'),
  patch: z.strictObject({ metadata: z.strictObject({ labels: z.record(z.string(), z.string().nullable()) }) }),
});
export type NamespaceLabelPatch = z.infer<typeof NamespaceLabelPatch>;

/** Istio configuration for one mesh's control plane. */
export const MeshIstioConfig = z.strictObject({
  mesh: z.string(),
  revision: RevisionName,
  /** IstioOperator for `istioctl install -f` */
  istioOperator: z.record(z.string(), z.unknown()),
  namespaceLabelPatches: z.array(NamespaceLabelPatch),
});
export type MeshIstioConfig = z.infer<typeof MeshIstioConfig>;

export const MeshSplitResult = z.strictObject({
  meshes: z.array(MeshSummary),
  /** unit id → mesh name */
  assignment: z.record(z.string(), z.string()),
  crossMeshEdges: z.array(CrossMeshEdge),
  cut: z.strictObject({ traffic: z.number(), share: z.number() }),
  blastRadius: z.strictObject({
    largestPodShare: z.number(),
    largestPodShareMesh: z.string(),
    largestTrafficShare: z.number(),
    largestTrafficShareMesh: z.string(),
  }),
  balance: z.strictObject({
    /** the heaviest a mesh may be: min((1 + imbalance) × average, maxMeshSize) */
    limit: z.number(),
    heaviest: z.number(),
    /** heaviest / average − 1 */
    imbalance: z.number(),
    satisfied: z.boolean(),
  }),
  istio: z.array(MeshIstioConfig),
  seed: z.number().int(),
});
export type MeshSplitResult = z.infer<typeof MeshSplitResult>;

/** `POST /v1/meshes/split`: a service graph and the split's constraints. */
export const MeshSplitRequest = z.strictObject({ graph: ServiceGraph, options: MeshSplitOptions });
export type MeshSplitRequest = z.input<typeof MeshSplitRequest>;
