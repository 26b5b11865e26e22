import { z } from 'zod';
import { Labels, ObjectName, ResourceName, RevisionName } from './primitives.js';
import { WorkloadPreflight } from './preflight.js';
import { InventoryGateway, MAX_GATEWAYS } from './gateway.js';
import { AmbientInventory } from './ambient.js';

export const WorkloadKind = { Deployment: 'Deployment', StatefulSet: 'StatefulSet', DaemonSet: 'DaemonSet' } as const;
export type WorkloadKind = (typeof WorkloadKind)[keyof typeof WorkloadKind];

export const InventoryWorkload = z.strictObject({
  namespace: ObjectName,
  kind: z.enum([WorkloadKind.Deployment, WorkloadKind.StatefulSet, WorkloadKind.DaemonSet]),
  name: ObjectName,
  labels: Labels.default({}),
  /** the revision the workload is assigned to now (namespace or pod-template `istio.io/rev`) */
  revision: RevisionName.nullable(),
  /** the revision actually injected into its running pods, when the agent has seen them */
  injectedRevision: RevisionName.nullable().optional(),
  replicas: z.number().int().nonnegative().default(1),
  /** what the preflight checks read (ADR 0035); optional: agents before it report none */
  preflight: WorkloadPreflight.optional(),
});
export type InventoryWorkload = z.infer<typeof InventoryWorkload>;

/**
 * The label a namespace carries to say which mesh it belongs to (`meshwave.io/mesh=<mesh>`): each mesh's control
 * plane discovers its namespaces by it, and a rollout with `sequenceByMesh` changes one mesh at a time by it.
 */
export const MESH_LABEL = 'meshwave.io/mesh';

/** The mesh a namespace's labels put it in; undefined when it carries no (or an empty) `meshwave.io/mesh`. */
export function meshOfNamespaceLabels(labels: Readonly<Record<string, string>> | undefined): string | undefined {
  const mesh = labels?.[MESH_LABEL];
  return mesh === undefined || mesh === '' ? undefined : mesh;
}

/**
 * A namespace of a cluster with its labels, as its agent sees it. Only the labels matter to planning: the
 * namespace's mesh (`meshwave.io/mesh`) orders a mesh-by-mesh rollout.
 */
export const InventoryNamespace = z.strictObject({
  name: ObjectName,
  labels: Labels.default({}),
});
export type InventoryNamespace = z.infer<typeof InventoryNamespace>;

/**
 * An Istio control plane (istiod) installed in a cluster, as its agent sees it: the revision it serves (its
 * `istio.io/rev` label), its version (istiod's image tag; null when the image names none, e.g. a digest) and
 * whether it is ready (at least one istiod replica available).
 */
export const ControlPlane = z.strictObject({
  revision: RevisionName,
  version: z.string().min(1).max(128).nullable(),
  ready: z.boolean(),
  /** where istiod's image comes from (`gcr.io/istio-release`): its injected proxies come from there by default */
  hub: z.string().max(253).optional(),
  /**
   * the mesh it serves: the one `meshwave.io/mesh` its `discoverySelectors` select (ADR 0056); absent when it
   * discovers every namespace, or its agent could not read its mesh config
   */
  mesh: z.string().min(1).max(63).optional(),
});
export type ControlPlane = z.infer<typeof ControlPlane>;

/** At most this many control planes and revision tags per cluster (a cluster runs two or three revisions). */
export const MAX_CONTROL_PLANES = 50;
export const MAX_REVISION_TAGS = 100;

/** Revision tags of a cluster: tag → the revision it points to (`{ "prod-stable": "1-24-5" }`). */
export const RevisionTags = z
  .record(RevisionName, RevisionName)
  .refine((t) => Object.keys(t).length <= MAX_REVISION_TAGS, `at most ${MAX_REVISION_TAGS} revision tags`);
export type RevisionTags = z.infer<typeof RevisionTags>;

/**
 * The revision a workload's or namespace's `istio.io/rev` value stands for: a revision tag (Istio's
 * `istio-revision-tag-<tag>` webhooks) resolves to the revision it points to, any other value is a revision.
 */
export function resolveRevision(
  tags: Readonly<Record<string, string>> | undefined,
  label: string | null | undefined,
): string | null {
  if (label === null || label === undefined) return null;
  return tags !== undefined && Object.hasOwn(tags, label) ? tags[label]! : label;
}

/** What runs a pod with a proxy: its top owner, as an operator names it, or `Pod` for a bare pod. */
export const RevisionUserKind = {
  Deployment: 'Deployment',
  StatefulSet: 'StatefulSet',
  DaemonSet: 'DaemonSet',
  Job: 'Job',
  CronJob: 'CronJob',
  Gateway: 'Gateway',
  Pod: 'Pod',
  Other: 'Other',
} as const;
export type RevisionUserKind = (typeof RevisionUserKind)[keyof typeof RevisionUserKind];

/**
 * At most this many revisions listed in a cluster's `revisionPods` (two per control plane: one going, one coming).
 * An agent that finds more lists those with the most pods and says `revisionPodsTruncated`: the planner then
 * calls no revision unused on that cluster's word.
 */
export const MAX_REPORTED_REVISIONS = MAX_CONTROL_PLANES * 2;

/** At most this many users named per revision per cluster (the rest are counted in `more`). */
export const MAX_REVISION_USERS = 50;

export const RevisionUser = z.strictObject({
  kind: z.enum(Object.values(RevisionUserKind) as [RevisionUserKind, ...RevisionUserKind[]]),
  namespace: ObjectName,
  name: z.string().min(1).max(253),
  /** its live pods on the revision; 0 for a CronJob whose pod template names the revision and runs none now */
  pods: z.number().int().nonnegative(),
});
export type RevisionUser = z.infer<typeof RevisionUser>;

/**
 * The pods of one revision in one cluster, in every namespace (istio-system and kube-system included), with what
 * runs them (ADR 0035): what keeps the revision's control plane from being removed.
 */
export const RevisionPods = z.strictObject({
  revision: RevisionName,
  pods: z.number().int().nonnegative(),
  users: z.array(RevisionUser).max(MAX_REVISION_USERS),
  /** users beyond the named ones */
  more: z.number().int().nonnegative().default(0),
});
export type RevisionPods = z.infer<typeof RevisionPods>;

export const InventoryCluster = z.strictObject({
  name: ResourceName,
  labels: Labels.default({}),
  /** mesh the cluster's workloads belong to, when the fleet is split into meshes */
  mesh: z.string().optional(),
  /**
   * The cluster's namespaces with their labels (optional: inventories before meshes were split have none). A
   * namespace labelled `meshwave.io/mesh` belongs to that mesh, which wins over the cluster's `mesh`.
   */
  namespaces: z.array(InventoryNamespace).optional(),
  workloads: z.array(InventoryWorkload).default([]),
  /** the cluster's control planes (optional: inventories and agents before them report none) */
  controlPlanes: z.array(ControlPlane).max(MAX_CONTROL_PLANES).optional(),
  tags: RevisionTags.optional(),
  /** pods with a proxy per revision, every namespace included (optional: agents before it report none) */
  revisionPods: z.array(RevisionPods).max(MAX_REPORTED_REVISIONS).optional(),
  /** true: the agent found more revisions than it may list, so `revisionPods` is not the whole of them */
  revisionPodsTruncated: z.literal(true).optional(),
  /** the cluster's gateway Deployments (ADR 0047; optional: agents before it report none) */
  gateways: z.array(InventoryGateway).max(MAX_GATEWAYS).optional(),
  /** nodes, istio-cni and ztunnel DaemonSets, waypoints (ADR 0051; optional: agents before it report none) */
  ambient: AmbientInventory.optional(),
});
export type InventoryCluster = z.infer<typeof InventoryCluster>;

export const VmHost = z.strictObject({
  name: ObjectName,
  /** the proxy revision the host runs now */
  version: RevisionName.nullable(),
});
export type VmHost = z.infer<typeof VmHost>;

/** The mesh a VM group's hosts are part of (ADR 0056, 0058): a label value, as a namespace's `meshwave.io/mesh`. */
export const VmGroupMesh = z.string().min(1).max(63);

export const VmGroup = z.strictObject({
  name: ObjectName,
  labels: Labels.default({}),
  /**
   * the mesh its hosts are part of (ADR 0056): a rollout naming a mesh moves only its groups. The group's vm-bridge
   * reports it too (its group config, ADR 0058); the bridge's wins.
   */
  mesh: VmGroupMesh.optional(),
  hosts: z.array(VmHost).default([]),
});
export type VmGroup = z.infer<typeof VmGroup>;

/** The fleet as the planner knows it: clusters with their workloads, VM groups with their hosts. */
export const Inventory = z
  .strictObject({
    clusters: z.array(InventoryCluster).default([]),
    vmGroups: z.array(VmGroup).default([]),
  })
  .superRefine((inv, ctx) => {
    const clusters = new Set<string>();
    inv.clusters.forEach((c, i) => {
      if (clusters.has(c.name))
        ctx.addIssue({ code: 'custom', path: ['clusters', i, 'name'], message: `duplicate cluster "${c.name}"` });
      clusters.add(c.name);
      // one issue per repeated name, at the path of the repeat
      const refuseRepeats = (names: readonly string[] | undefined, field: string, key: string, what: string): void => {
        const seen = new Set<string>();
        names?.forEach((name, j) => {
          if (seen.has(name))
            ctx.addIssue({
              code: 'custom',
              path: ['clusters', i, field, j, key],
              message: `duplicate ${what} "${name}"`,
            });
          seen.add(name);
        });
      };
      refuseRepeats(
        c.namespaces?.map((n) => n.name),
        'namespaces',
        'name',
        'namespace',
      );
      refuseRepeats(
        c.controlPlanes?.map((p) => p.revision),
        'controlPlanes',
        'revision',
        'control plane revision',
      );
      const keys = new Set<string>();
      c.workloads.forEach((w, j) => {
        const key = `${w.namespace}/${w.kind}/${w.name}`;
        if (keys.has(key))
          ctx.addIssue({ code: 'custom', path: ['clusters', i, 'workloads', j], message: `duplicate workload ${key}` });
        keys.add(key);
      });
      // A gateway moves by canary, never restarted in place as a workload (ADR 0047).
      const gateways = new Set<string>();
      c.gateways?.forEach((g, j) => {
        const key = `${g.namespace}/${g.name}`;
        if (gateways.has(key))
          ctx.addIssue({ code: 'custom', path: ['clusters', i, 'gateways', j], message: `duplicate gateway ${key}` });
        else if (keys.has(`${g.namespace}/Deployment/${g.name}`))
          ctx.addIssue({
            code: 'custom',
            path: ['clusters', i, 'gateways', j],
            message: `gateway ${key} is also listed as a workload: a gateway belongs in \`gateways\` only`,
          });
        gateways.add(key);
      });
    });
    const groups = new Set<string>();
    inv.vmGroups.forEach((g, i) => {
      if (groups.has(g.name))
        ctx.addIssue({ code: 'custom', path: ['vmGroups', i, 'name'], message: `duplicate VM group "${g.name}"` });
      groups.add(g.name);
    });
  });
export type Inventory = z.infer<typeof Inventory>;
export type InventoryInput = z.input<typeof Inventory>;
