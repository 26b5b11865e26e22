import { z } from 'zod';
import { Labels, NameGlob, ObjectName, RevisionName, durationUpTo } from './primitives.js';

/**
 * The node agents of Istio's ambient mode (ADR 0051): `istio-cni` (Istio's CNI node agent, which redirects the
 * pods' traffic) and `ztunnel` (the per-node proxy). Both run as DaemonSets, one pod per node.
 */
export const NodeAgentKind = { IstioCni: 'istio-cni', Ztunnel: 'ztunnel' } as const;
export type NodeAgentKind = (typeof NodeAgentKind)[keyof typeof NodeAgentKind];
const NODE_AGENT_KINDS = [NodeAgentKind.IstioCni, NodeAgentKind.Ztunnel] as const;

/** The namespace label (as inventories report namespaces) that enrols a namespace in ambient mode. */
export const AMBIENT_NAMESPACE_LABEL = { key: 'istio.io/dataplane-mode', value: 'ambient' } as const;

/** At most this many nodes per cluster in an inventory (Kubernetes' own tested limit is 5,000 nodes). */
export const MAX_NODES = 5000;
/** At most this many node-agent DaemonSets per cluster (one istio-cni and one ztunnel, a few during a move). */
export const MAX_NODE_AGENTS = 8;
/** At most this many waypoints per cluster (one per namespace or service account in practice). */
export const MAX_WAYPOINTS = 500;

/**
 * Node labels that name a node's pool, first found wins: GKE, EKS, AKS, Karpenter, then meshwave's own label for
 * clusters whose nodes carry none of these.
 */
export const NODE_POOL_LABELS = [
  'cloud.google.com/gke-nodepool',
  'eks.amazonaws.com/nodegroup',
  'kubernetes.azure.com/agentpool',
  'karpenter.sh/nodepool',
  'meshwave.io/node-pool',
] as const;

/** The version of an Istio image tag or version label (`1.25.2`, `1.25.2-distroless`), as reported. */
const AgentVersion = z.string().min(1).max(128);

/** How a DaemonSet replaces its pods: meshwave moves node agents node by node only under `OnDelete`. */
export const DaemonSetUpdateStrategy = { OnDelete: 'OnDelete', RollingUpdate: 'RollingUpdate' } as const;
export type DaemonSetUpdateStrategy = (typeof DaemonSetUpdateStrategy)[keyof typeof DaemonSetUpdateStrategy];

/** An istio-cni or ztunnel DaemonSet, as its agent reports it. */
export const InventoryNodeAgent = z.strictObject({
  kind: z.enum(NODE_AGENT_KINDS),
  namespace: ObjectName,
  name: ObjectName,
  /** `istio.io/rev` of its pod template (a label for istio-cni, an annotation for ztunnel in Istio's charts) */
  revision: RevisionName.nullable(),
  /** the version its pod template runs (its image tag, else `app.kubernetes.io/version`); null when unknown */
  version: AgentVersion.nullable(),
  updateStrategy: z.enum([DaemonSetUpdateStrategy.OnDelete, DaemonSetUpdateStrategy.RollingUpdate]),
});
export type InventoryNodeAgent = z.infer<typeof InventoryNodeAgent>;

/** A node of a cluster running ambient mode, with the version of each node agent's pod on it. */
export const InventoryNode = z.strictObject({
  name: ObjectName,
  labels: Labels.default({}),
  /** its pool (the first of NODE_POOL_LABELS it carries) */
  pool: z.string().min(1).max(253).optional(),
  /** cordoned (`spec.unschedulable`) */
  unschedulable: z.boolean().default(false),
  /** the version of the node agent pod running on it, per kind; absent: no such pod on the node */
  agents: z.partialRecord(z.enum(NODE_AGENT_KINDS), AgentVersion.nullable()).default({}),
});
export type InventoryNode = z.infer<typeof InventoryNode>;

/** Traffic a waypoint serves (`istio.io/waypoint-for`). */
export const WaypointFor = { Service: 'service', Workload: 'workload', All: 'all', None: 'none' } as const;
export type WaypointFor = (typeof WaypointFor)[keyof typeof WaypointFor];

/** A waypoint: a Gateway API `Gateway` labelled `istio.io/waypoint-for`, on the revision of its `istio.io/rev`. */
export const InventoryWaypoint = z.strictObject({
  namespace: ObjectName,
  name: ObjectName,
  revision: RevisionName.nullable(),
  for: z.enum([WaypointFor.Service, WaypointFor.Workload, WaypointFor.All, WaypointFor.None]),
});
export type InventoryWaypoint = z.infer<typeof InventoryWaypoint>;

/** What a cluster's agent reports of ambient mode (optional in the inventory: agents before it report none). */
export const AmbientInventory = z.strictObject({
  nodes: z.array(InventoryNode).max(MAX_NODES, `at most ${MAX_NODES} nodes`).default([]),
  nodeAgents: z.array(InventoryNodeAgent).max(MAX_NODE_AGENTS).default([]),
  waypoints: z.array(InventoryWaypoint).max(MAX_WAYPOINTS).default([]),
});
export type AmbientInventory = z.infer<typeof AmbientInventory>;

/** What the agent does on a cordoned node before it replaces the ztunnel pod there. */
export const NodeDrainPolicy = {
  /** evict the node's pods in ambient namespaces (PodDisruptionBudgets apply) and wait until they are gone */
  Drain: 'drain',
  /** evict nothing: hold the cordoned node for `grace`, so its long-lived connections can end on their own */
  Wait: 'wait',
} as const;
export type NodeDrainPolicy = (typeof NodeDrainPolicy)[keyof typeof NodeDrainPolicy];

/** At most this many nodes of one cluster cordoned at once: more is a fleet drain, not an upgrade. */
export const MAX_AMBIENT_UNAVAILABLE = 100;
/** At most this many waypoints moved in one step of a cluster. */
export const MAX_WAYPOINTS_PER_STEP = 100;

/** Which nodes the ambient steps move: every field given must match (AND); within a list any entry may. */
export const AmbientSelector = z.strictObject({
  clusters: z.array(NameGlob).optional(),
  clusterLabels: Labels.optional(),
  /** node pools by name (NODE_POOL_LABELS) */
  pools: z.array(NameGlob).optional(),
  /** labels every selected node carries */
  nodeLabels: Labels.optional(),
  /** namespaces whose waypoints move */
  namespaces: z.array(NameGlob).optional(),
});
export type AmbientSelector = z.infer<typeof AmbientSelector>;

/**
 * The rollout file's `ambient:` section (ADR 0051). Absent: node agents and waypoints are not touched. The node
 * agents move istio-cni first, then ztunnel, in node waves of at most `maxUnavailable` nodes per cluster, then the
 * waypoints, at most `waypointsPerStep` per cluster and step.
 */
export const AmbientRollout = z.strictObject({
  select: AmbientSelector.default({}),
  /** nodes of one cluster cordoned at once, and so the size of its node waves */
  maxUnavailable: z
    .number()
    .int('a whole number of nodes')
    .min(1, 'at least 1 node')
    .max(MAX_AMBIENT_UNAVAILABLE, `at most ${MAX_AMBIENT_UNAVAILABLE} nodes`)
    .default(1),
  drain: z.enum([NodeDrainPolicy.Drain, NodeDrainPolicy.Wait]).default(NodeDrainPolicy.Wait),
  /** `wait`: how long a cordoned node is held; `drain`: how long its evictions may take before the node fails */
  grace: durationUpTo('1h').default(0),
  waypointsPerStep: z.number().int().min(1).max(MAX_WAYPOINTS_PER_STEP).default(10),
  /** held after each step converges; default `defaults.soak` */
  soak: durationUpTo('365d').optional(),
});
export type AmbientRollout = z.infer<typeof AmbientRollout>;

/** What an ambient step moves. */
export const AmbientComponent = { ...NodeAgentKind, Waypoints: 'waypoints' } as const;
export type AmbientComponent = (typeof AmbientComponent)[keyof typeof AmbientComponent];

/** A node as a plan lists it, with the version its node agent moves to. */
export const PlannedAmbientNode = z.object({ cluster: z.string(), name: z.string(), version: z.string() });
export type PlannedAmbientNode = z.infer<typeof PlannedAmbientNode>;

export const PlannedWaypoint = z.object({ cluster: z.string(), namespace: z.string(), name: z.string() });
export type PlannedWaypoint = z.infer<typeof PlannedWaypoint>;

/** One ambient step of a plan: a node wave of istio-cni or ztunnel, or a step of waypoints. */
export const PlannedAmbientStep = z.object({
  index: z.number().int().nonnegative(),
  /** `istio-cni-1`, `ztunnel-1`, `waypoints-1` ... */
  name: z.string(),
  component: z.enum([AmbientComponent.IstioCni, AmbientComponent.Ztunnel, AmbientComponent.Waypoints]),
  earliestStart: z.string(),
  estimatedConverged: z.string(),
  soakSeconds: z.number().nonnegative(),
  nodes: z.array(PlannedAmbientNode),
  waypoints: z.array(PlannedWaypoint),
  delays: z.array(z.string()),
});
export type PlannedAmbientStep = z.infer<typeof PlannedAmbientStep>;

/** Plan problems of ambient mode. */
export const AmbientProblemCode = {
  /** a node agent's version is ahead of `to`'s control plane, or more than one minor behind it: a refusal */
  VersionSkew: 'AMBIENT_VERSION_SKEW',
  /** a node agent's DaemonSet replaces its pods itself (RollingUpdate): meshwave cannot move it node by node */
  NotOnDelete: 'AMBIENT_NOT_ON_DELETE',
  /** a node agent's version is unknown: the version rule is not checked there */
  VersionUnknown: 'AMBIENT_VERSION_UNKNOWN',
} as const;
export type AmbientProblemCode = (typeof AmbientProblemCode)[keyof typeof AmbientProblemCode];

/** At most this many ambient steps in one desired state (every node wave and waypoint step of a rollout). */
export const MAX_AMBIENT_STEPS = 64;

/**
 * One ambient step of a cluster's desired state (ADR 0051): a node wave (its nodes of this cluster move their
 * `component`'s pod to `version`, at most `maxUnavailable` of the cluster's nodes held at once) or a waypoint step
 * (each waypoint set to `revision`).
 */
export const AmbientStepCommand = z
  .strictObject({
    /** the plan's step (`ztunnel-1`) */
    step: z.string().min(1).max(64),
    component: z.enum([AmbientComponent.IstioCni, AmbientComponent.Ztunnel, AmbientComponent.Waypoints]),
    version: AgentVersion.optional(),
    nodes: z
      .array(ObjectName)
      .max(MAX_AMBIENT_UNAVAILABLE * 10)
      .default([]),
    maxUnavailable: z.number().int().min(1).max(MAX_AMBIENT_UNAVAILABLE).default(1),
    drain: z.enum([NodeDrainPolicy.Drain, NodeDrainPolicy.Wait]).default(NodeDrainPolicy.Wait),
    graceSeconds: z.number().int().min(0).max(3600).default(0),
    waypoints: z
      .array(z.strictObject({ namespace: ObjectName, name: ObjectName }))
      .max(MAX_WAYPOINTS_PER_STEP)
      .default([]),
    revision: RevisionName.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.component === AmbientComponent.Waypoints ? c.revision === undefined : c.version === undefined)
      ctx.addIssue({
        code: 'custom',
        path: [c.component === AmbientComponent.Waypoints ? 'revision' : 'version'],
        message:
          c.component === AmbientComponent.Waypoints
            ? 'a waypoint step names its revision'
            : 'a node wave names its version',
      });
  });
export type AmbientStepCommand = z.infer<typeof AmbientStepCommand>;

/** How far a cluster's agent got with an ambient step (`UnitProgress.ambient`), node by node. */
export const AmbientStepProgress = z.object({
  step: z.string(),
  state: z.enum(['pending', 'moving', 'converged', 'failed']),
  /** each node (or waypoint, `namespace/name`) that is not converged, with what it waits for or why it failed */
  waiting: z
    .array(z.object({ name: z.string(), state: z.string(), detail: z.string().max(1024).optional() }))
    .max(MAX_AMBIENT_UNAVAILABLE * 10)
    .default([]),
  reason: z.string().max(1024).optional(),
});
export type AmbientStepProgress = z.infer<typeof AmbientStepProgress>;

/** Where an ambient step of a rollout stands, as its status shows it. */
export const AmbientStepState = { Pending: 'pending', Active: 'active', Done: 'done' } as const;
export type AmbientStepState = (typeof AmbientStepState)[keyof typeof AmbientStepState];

/** How far one cluster's node agent or waypoints got, from its agent's reports. */
export const AmbientMoveState = z.enum(['pending', 'moving', 'converged', 'failed']);

/**
 * A rollout's ambient steps as its status shows them (ADR 0051): each step (a node wave or a waypoint step) and,
 * per cluster, each node agent's nodes on the target version out of those the rollout moves, the nodes it holds
 * cordoned now, and the waypoints moved. Absent when the plan has no ambient step.
 */
export const AmbientRolloutStatus = z.object({
  steps: z.array(
    z.object({
      /** the engine's wave index of the step (after the workload waves) */
      wave: z.number().int().nonnegative(),
      name: z.string(),
      component: z.enum([AmbientComponent.IstioCni, AmbientComponent.Ztunnel, AmbientComponent.Waypoints]),
      state: z.enum([AmbientStepState.Pending, AmbientStepState.Active, AmbientStepState.Done]),
      /** nodes (or waypoints) the step moves, every cluster */
      size: z.number().int().nonnegative(),
    }),
  ),
  clusters: z.array(
    z.object({
      cluster: z.string(),
      nodeAgents: z.array(
        z.object({
          component: z.enum([AmbientComponent.IstioCni, AmbientComponent.Ztunnel]),
          /** the version its pods move to */
          version: z.string(),
          /** the cluster's nodes the rollout moves this node agent on */
          nodes: z.number().int().nonnegative(),
          /** of those, the nodes whose pod runs `version` */
          onTarget: z.number().int().nonnegative(),
          /** nodes held cordoned for this node agent now (at most the section's `maxUnavailable`) */
          cordoned: z.array(z.string()).max(MAX_AMBIENT_UNAVAILABLE),
          state: AmbientMoveState,
          /** what the step under way waits for, or why it failed */
          reason: z.string().optional(),
        }),
      ),
      /** the cluster's waypoints the rollout moves, and those relabelled to `to` */
      waypoints: z.object({ total: z.number().int().nonnegative(), moved: z.number().int().nonnegative() }).optional(),
    }),
  ),
});
export type AmbientRolloutStatus = z.infer<typeof AmbientRolloutStatus>;
