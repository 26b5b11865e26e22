import { z } from 'zod';
import { MeshSplitCommand } from './mesh-apply.js';
import { Labels, MAX_COUNT, ResourceName, RevisionName, Timestamp } from './primitives.js';
import {
  ControlPlane,
  InventoryNamespace,
  InventoryWorkload,
  MAX_CONTROL_PLANES,
  MAX_REPORTED_REVISIONS,
  RevisionPods,
  RevisionTags,
  VmHost,
  VmGroupMesh,
} from './inventory.js';
import { AmbientInventory, AmbientStepCommand, AmbientStepProgress, MAX_AMBIENT_STEPS } from './ambient.js';
import { GatewayPin, GatewayStepCommand, GatewayStepProgress, InventoryGateway, MAX_GATEWAYS } from './gateway.js';
import { CommandRejectionReasonSchema } from './command-fencing.js';
import { UnitState } from './unit-states.js';

export * from './unit-states.js';
/** Topic roles; actual names are configuration (see `TopicNames`). */
export const Topic = { Commands: 'commands', Events: 'events', DeadLetter: 'dlq' } as const;
export type Topic = (typeof Topic)[keyof typeof Topic];

export const DEFAULT_TOPIC_NAMES: Readonly<Record<Topic, string>> = {
  commands: 'meshwave.commands',
  events: 'meshwave.events',
  dlq: 'meshwave.dlq',
};

/** Message keys: one target's messages share a key, so they stay ordered on one partition. */
export const clusterKey = (cluster: string): string => `cluster/${cluster}`;
export const vmGroupKey = (group: string): string => `vmgroup/${group}`;

/** CloudEvents `type` of every message meshwave sends. */
export const MessageType = {
  ClusterDesiredState: 'io.meshwave.command.cluster.desired-state.v1',
  VmGroupDesiredState: 'io.meshwave.command.vmgroup.desired-state.v1',
  Halt: 'io.meshwave.command.halt.v1',
  Inventory: 'io.meshwave.event.inventory.v1',
  /** what changed in a cluster's inventory since the agent's previous report (ADR 0031) */
  InventoryDelta: 'io.meshwave.event.inventory-delta.v1',
  /** the planner asks a cluster's agent for its whole inventory (it missed a delta, or has none) */
  InventoryResync: 'io.meshwave.command.inventory-resync.v1',
  UnitProgress: 'io.meshwave.event.unit-progress.v1',
  VmProgress: 'io.meshwave.event.vm-progress.v1',
  /** the hosts enrolled in a VM group and the version each runs: the vm-bridge's inventory of the group */
  VmInventory: 'io.meshwave.event.vm-inventory.v1',
  Health: 'io.meshwave.event.health.v1',
  /** what changed in a cluster's progress / health, a VM group's progress since the sender's previous report (ADR 0048) */
  UnitProgressDelta: 'io.meshwave.event.unit-progress-delta.v1',
  HealthDelta: 'io.meshwave.event.health-delta.v1',
  VmProgressDelta: 'io.meshwave.event.vm-progress-delta.v1',
  Heartbeat: 'io.meshwave.event.heartbeat.v1',
  CommandRejected: 'io.meshwave.event.command-rejected.v1',
  /** a split's meshes for a cluster's namespaces and control planes (`meshwave split --apply`, ADR 0049) */
  MeshSplit: 'io.meshwave.command.mesh-split.v1',
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Fields every command carries: which rollout, which decision (generation) and which leader (epoch). */
const CommandHeader = {
  rolloutId: z.string().min(1),
  /** index of the wave this command belongs to (the wave being rolled, or rolled back) */
  wave: z.number().int().nonnegative(),
  /** monotonic per target; an agent ignores a command whose generation is not above the last one it applied */
  generation: z.number().int().positive(),
  /** the planner leader's fencing epoch; lower than the highest seen → refused */
  epoch: z.number().int().positive(),
};

/** A target inside a cluster: a whole namespace (namespace granularity) or one workload. */
export const UnitTarget = z.object({
  namespace: z.string().min(1),
  kind: z.enum(['Deployment', 'StatefulSet', 'DaemonSet']).optional(),
  name: z.string().optional(),
  /** the revision this unit should run */
  revision: RevisionName,
  /**
   * an operator's retry of a failed unit (`POST /v1/rollouts/:id/retry`): restart it again towards `revision`
   * unless a restart of this attempt (or a later one) was already written; absent: the first attempt
   */
  attempt: z.number().int().positive().optional(),
});
export type UnitTarget = z.infer<typeof UnitTarget>;

/** Key of a unit inside its cluster: `namespace` or `namespace/kind/name`. */
export const unitKey = (t: { namespace: string; kind?: string | undefined; name?: string | undefined }): string =>
  t.kind && t.name ? `${t.namespace}/${t.kind}/${t.name}` : t.namespace;

/**
 * Desired state for one cluster: every unit listed should run the given revision. It is the whole desired
 * state of this rollout for the cluster (cumulative over waves), so applying it twice, late or out of order
 * is harmless.
 */
export const ClusterDesiredState = z.object({
  ...CommandHeader,
  cluster: z.string().min(1),
  from: RevisionName,
  to: RevisionName,
  granularity: z.enum(['workload', 'namespace']),
  /** units restarting at once in this cluster */
  maxUnavailable: z.number().int().positive(),
  units: z.array(UnitTarget),
  /** when true the agent starts no new restart (halt) */
  halted: z.boolean().default(false),
  /** seconds a unit may take to converge before it is reported failed; absent: the agent's own (default 600) */
  progressDeadlineSeconds: z.number().int().positive().optional(),
  /**
   * A tag move (ADR 0035): before a unit starts, the agent points this revision tag's webhook at the unit's
   * revision; the units keep their labels (the tag) and restart only. Absent: units are relabelled.
   */
  tag: RevisionName.optional(),
  /**
   * with `tag`: the Gateway API Gateways of this cluster the rollout's `gateway-api` step moves; before it moves the
   * tag the agent pins each one still labelled with the tag to the revision the tag names (ADR 0056)
   */
  gatewayPins: z.array(GatewayPin).max(MAX_GATEWAYS).optional(),
  /** gateway canary steps (ADR 0047); absent: no gateway of this cluster moves */
  gateways: z.array(GatewayStepCommand).max(MAX_GATEWAYS).optional(),
  /** ambient node waves and waypoint steps dispatched so far (ADR 0051); absent: nothing ambient moves */
  ambient: z.array(AmbientStepCommand).max(MAX_AMBIENT_STEPS).optional(),
  /**
   * the rollout allows an upgrade path Istio does not support (`spec.allowUnsupportedUpgradePath`, audited with its
   * reason by the planner): the agent's live re-check of a tag move's path does not refuse it (ADR 0046)
   */
  allowUnsupportedUpgradePath: z.boolean().optional(),
});
export type ClusterDesiredState = z.infer<typeof ClusterDesiredState>;

/** Desired state for one VM group: the listed hosts should run `version`; the rest stay where they are. */
export const VmGroupDesiredState = z.object({
  ...CommandHeader,
  group: z.string().min(1),
  from: RevisionName,
  to: RevisionName,
  /** hosts upgrading or unhealthy at once in the group */
  maxUnavailable: z.number().int().positive(),
  hosts: z.array(z.object({ name: z.string(), version: RevisionName })),
  halted: z.boolean().default(false),
});
export type VmGroupDesiredState = z.infer<typeof VmGroupDesiredState>;

/** Stop starting new work at once; report what is in flight. */
export const HaltCommand = z.object({
  ...CommandHeader,
  target: z.string().min(1),
  reason: z.string(),
});
export type HaltCommand = z.infer<typeof HaltCommand>;

export const UnitProgressEntry = z.object({
  namespace: z.string(),
  kind: z.string().optional(),
  name: z.string().optional(),
  state: z.enum([UnitState.Pending, UnitState.Restarting, UnitState.Converged, UnitState.Failed]),
  /** revision the unit is assigned to now */
  revision: z.string().nullable(),
  /** revision seen injected in its running pods; `injects`: when `revision` is a tag, the one it points at (ADR 0046) */
  injectedRevision: z.string().nullable().optional(),
  injects: z.string().optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
});
export type UnitProgressEntry = z.infer<typeof UnitProgressEntry>;

/** Grows with every report of its sender, across restarts (the sender's clock in ms, or the last one + 1). */
const ReportSeq = z.number().int().nonnegative();

/** A unit by name, as a progress or health delta lists the ones gone. */
export const UnitRef = z.object({ namespace: z.string(), kind: z.string().optional(), name: z.string().optional() });
export type UnitRef = z.infer<typeof UnitRef>;

/** Progress of a cluster toward the desired state of `generation`. */
export const UnitProgress = z.object({
  /** a cluster's name as its signing key names it (`cluster/<name>`): `c1/x` would pass for `c1`'s key */
  cluster: ResourceName,
  rolloutId: z.string(),
  generation: z.number().int().nonnegative(),
  units: z.array(UnitProgressEntry),
  halted: z.boolean().default(false),
  /** the gateway steps of the desired state (ADR 0047); absent when it names none */
  gateways: z.array(GatewayStepProgress).max(MAX_GATEWAYS).optional(),
  /** the ambient steps of the desired state (ADR 0051); absent when it names none */
  ambient: z.array(AmbientStepProgress).max(MAX_AMBIENT_STEPS).optional(),
  /** the report's place in its sender's chain: deltas follow it (ADR 0048); absent: an agent that sends no deltas */
  seq: ReportSeq.optional(),
});
export type UnitProgress = z.infer<typeof UnitProgress>;

export const InventoryReport = z.object({
  cluster: ResourceName,
  labels: Labels.default({}),
  /** increases with every snapshot the agent sends */
  generation: z.number().int().nonnegative(),
  workloads: z.array(InventoryWorkload).max(MAX_COUNT),
  /**
   * The cluster's namespaces (but the agent's protected ones) with their labels, so the planner learns which
   * mesh each belongs to (`meshwave.io/mesh`). Optional: agents before this field send none.
   */
  namespaces: z.array(InventoryNamespace).optional(),
  /** the cluster's control planes and revision tags (optional: agents before them send none) */
  controlPlanes: z.array(ControlPlane).max(MAX_CONTROL_PLANES).optional(),
  tags: RevisionTags.optional(),
  /** pods with a proxy per revision in every namespace, with what runs them (optional: older agents send none) */
  revisionPods: z.array(RevisionPods).max(MAX_REPORTED_REVISIONS).optional(),
  /** true: more revisions run than `revisionPods` may list (it names those with the most pods) */
  revisionPodsTruncated: z.literal(true).optional(),
  /** the cluster's gateways, apart from its workloads (ADR 0047; optional: older agents send none) */
  gateways: z.array(InventoryGateway).max(MAX_GATEWAYS).optional(),
  /** nodes, node agents and waypoints of ambient mode (ADR 0051; optional: older agents send none) */
  ambient: AmbientInventory.optional(),
});
export type InventoryReport = z.infer<typeof InventoryReport>;

/** A workload by name (`namespace/kind/name`), as a delta lists the ones that are gone. */
export const InventoryWorkloadRef = InventoryWorkload.pick({ namespace: true, kind: true, name: true });
export type InventoryWorkloadRef = z.infer<typeof InventoryWorkloadRef>;

/**
 * What changed in a cluster's inventory since the report of generation `base` (a whole one or a delta): the
 * workloads added or changed, the ones gone; namespaces, control planes and tags (a few entries) whole when
 * sent. The planner applies it only on top of `base`; on any other generation it has missed one and asks for
 * the whole inventory (`InventoryResync`). Its own message type: a planner that predates it skips it (ADR 0031).
 */
export const InventoryDelta = InventoryReport.omit({ workloads: true }).extend({
  base: z.number().int().nonnegative(),
  upserted: z.array(InventoryWorkload).max(MAX_COUNT),
  removed: z.array(InventoryWorkloadRef).max(MAX_COUNT),
});
export type InventoryDelta = z.infer<typeof InventoryDelta>;

/** Which whole report a resync asks for (ADR 0048). */
export const ResyncReport = { Inventory: 'inventory', Progress: 'progress', Health: 'health' } as const;

/** The planner asks a cluster's agent for a whole report, with why (logged by the agent). */
export const InventoryResync = z.object({
  cluster: ResourceName,
  reason: z.string().max(256),
  /** absent: the inventory (an agent before ADR 0048 reads every request so, and sends no other deltas) */
  report: z.enum([ResyncReport.Inventory, ResyncReport.Progress, ResyncReport.Health]).optional(),
});
export type InventoryResync = z.infer<typeof InventoryResync>;

export const VmHostState = {
  Pending: 'pending',
  Upgrading: 'upgrading',
  Converged: 'converged',
  Failed: 'failed',
  Reverted: 'reverted',
} as const;
export type VmHostState = (typeof VmHostState)[keyof typeof VmHostState];

/** Why a service says it cannot be trusted to judge time right now. */
export const DegradedReason = {
  EventLoopLag: 'event-loop-lag',
  /** the cluster-agent's apiserver has answered nothing but network errors and 5xx for a while */
  ApiserverUnreachable: 'apiserver-unreachable',
} as const;
export type DegradedReason = (typeof DegradedReason)[keyof typeof DegradedReason];

/**
 * A service that reports itself Degraded: its own judgements of time (progress deadlines, timers) may be
 * artefacts of its own starvation, so the planner holds failures that rest on them until it is well again.
 */
export const Degraded = z.object({
  /** `event-loop-lag`, or another short reason a newer agent may send */
  reason: z.string().min(1).max(64),
  /** the measured event-loop delay (p99 over the service's last window), when the reason is lag */
  lagMs: z.number().nonnegative().optional(),
  /** how long the apiserver has not answered, when the reason is `apiserver-unreachable` */
  unreachableMs: z.number().nonnegative().optional(),
});
export type Degraded = z.infer<typeof Degraded>;

export const VmHostProgress = VmHost.extend({
  state: z.enum([
    VmHostState.Pending,
    VmHostState.Upgrading,
    VmHostState.Converged,
    VmHostState.Failed,
    VmHostState.Reverted,
  ]),
  healthy: z.boolean(),
  reason: z.string().optional(),
});

export const VmProgress = z.object({
  group: z.string(),
  rolloutId: z.string(),
  generation: z.number().int().nonnegative(),
  halted: z.boolean().default(false),
  reason: z.string().optional(),
  hosts: z.array(VmHostProgress),
  /** present while the bridge is Degraded (it holds batch timeouts meanwhile); optional for older bridges */
  degraded: Degraded.optional(),
  /** the report's place in the bridge's chain for this group: deltas follow it (ADR 0048) */
  seq: ReportSeq.optional(),
});
export type VmProgress = z.infer<typeof VmProgress>;

/**
 * A VM group's membership as its vm-bridge holds it, whole each time: every enrolled host and the version it runs,
 * and the group's `mesh` when the bridge's config gives one (ADR 0058; older bridges send none). Sent whether or not
 * a rollout runs (a VmProgress speaks only for a rollout's group), as a cluster-agent sends its inventory.
 */
export const VmInventoryReport = z.object({
  group: z.string().min(1),
  /** increases with every report of the group, across restarts (the bridge's clock in ms, or the last one + 1) */
  generation: z.number().int().nonnegative(),
  hosts: z.array(VmHost).max(MAX_COUNT),
  mesh: VmGroupMesh.optional(),
});
export type VmInventoryReport = z.infer<typeof VmInventoryReport>;

export const HealthReport = z.object({
  source: z.string(),
  /**
   * Increases with every report of its source, across restarts (the agent's clock in ms, or the last one + 1); with
   * `observedAt`, what lets the planner refuse a replayed or stale report (ADR 0038). Agents upgrade first: required.
   */
  generation: z.number().int().nonnegative(),
  /** when the source observed what it reports */
  observedAt: Timestamp,
  /** present while the source is Degraded; optional, so agents that predate it keep working */
  degraded: Degraded.optional(),
  units: z.array(
    UnitRef.extend({
      unavailableReplicas: z.number().int().nonnegative(),
      restarts: z.number().int().nonnegative(),
      crashLooping: z.boolean(),
      /** the unit finished rolling out and its pods run another sidecar than assigned (not: old pods mid-restart) */
      sidecarMismatch: z.boolean(),
    }),
  ),
});
export type HealthReport = z.infer<typeof HealthReport>;

/*
 * Deltas (ADR 0048, the design of ADR 0031's inventory deltas): what changed since the sender's report `base` (a
 * whole one or a delta), the entries added or changed and the ones gone; the rest of the report whole. The
 * planner applies one only on top of `base`; on another it missed one and asks for the whole report
 * (`InventoryResync` naming the report). Their own types: a planner that predates them skips them.
 */
export const UnitProgressDelta = UnitProgress.omit({ units: true, seq: true }).extend({
  seq: ReportSeq,
  base: ReportSeq,
  upserted: z.array(UnitProgressEntry).max(MAX_COUNT),
  removed: z.array(UnitRef).max(MAX_COUNT),
});
export type UnitProgressDelta = z.infer<typeof UnitProgressDelta>;

/** A health delta: its chain is the report's own `generation`. */
export const HealthDelta = HealthReport.omit({ units: true }).extend({
  base: ReportSeq,
  upserted: HealthReport.shape.units.max(MAX_COUNT),
  removed: z.array(UnitRef).max(MAX_COUNT),
});
export type HealthDelta = z.infer<typeof HealthDelta>;

export const VmProgressDelta = VmProgress.omit({ hosts: true, seq: true }).extend({
  seq: ReportSeq,
  base: ReportSeq,
  upserted: z.array(VmHostProgress).max(MAX_COUNT),
  /** the names of the hosts gone */
  removed: z.array(z.string()).max(MAX_COUNT),
});
export type VmProgressDelta = z.infer<typeof VmProgressDelta>;

export const Heartbeat = z.object({ source: z.string(), version: z.string(), at: z.string() });
export type Heartbeat = z.infer<typeof Heartbeat>;

export const CommandRejected = z.object({
  source: z.string(),
  commandId: z.string().optional(),
  reason: CommandRejectionReasonSchema,
  detail: z.string().optional(),
});
export type CommandRejected = z.infer<typeof CommandRejected>;

/** The data schema for each message type: one place that both producers and consumers validate against. */
export const MessageSchemas = {
  [MessageType.ClusterDesiredState]: ClusterDesiredState,
  [MessageType.VmGroupDesiredState]: VmGroupDesiredState,
  [MessageType.Halt]: HaltCommand,
  [MessageType.Inventory]: InventoryReport,
  [MessageType.InventoryDelta]: InventoryDelta,
  [MessageType.InventoryResync]: InventoryResync,
  [MessageType.UnitProgress]: UnitProgress,
  [MessageType.VmProgress]: VmProgress,
  [MessageType.VmInventory]: VmInventoryReport,
  [MessageType.Health]: HealthReport,
  [MessageType.UnitProgressDelta]: UnitProgressDelta,
  [MessageType.HealthDelta]: HealthDelta,
  [MessageType.VmProgressDelta]: VmProgressDelta,
  [MessageType.Heartbeat]: Heartbeat,
  [MessageType.CommandRejected]: CommandRejected,
  [MessageType.MeshSplit]: MeshSplitCommand,
} as const;
export type MessageData<T extends MessageType> = z.infer<(typeof MessageSchemas)[T]>;
