import { z } from 'zod';
import { FreezeStatus } from './freeze-api.js';
import { GateVerdict } from './gate-api.js';
import { GatewayRolloutStatus } from './gateway.js';
import { AmbientRolloutStatus } from './ambient.js';
import { MembershipStatus } from './membership-api.js';
import { Burndown } from './deadline-api.js';
import { Inventory } from './inventory.js';
import { Plan } from './plan.js';
import { ResourceName } from './primitives.js';

// Schemas of the planner's HTTP API and of the rollout state it exposes. The planner's engine stores the same
// shapes (phases, transitions, verdicts), so what the API shows is what the engine decided, field for field.

/** The phase of a rollout. `Running` has a wave phase; the others do not. */
export const RolloutPhase = {
  /** created; its first wave has not started (window, approval or a start time ahead) */
  Pending: 'Pending',
  Running: 'Running',
  /** an operator paused it: agents start no new restart, no new wave starts */
  Paused: 'Paused',
  /** a gate failed (or a rolled-back wave awaits the operator); resumable */
  Halted: 'Halted',
  /** moving units back to `from` */
  RollingBack: 'RollingBack',
  /** every dispatched unit is back on `from`; terminal */
  RolledBack: 'RolledBack',
  /** every wave passed its gate; terminal */
  Completed: 'Completed',
  /** aborted, or a failback itself failed; terminal */
  Failed: 'Failed',
} as const;
export type RolloutPhase = (typeof RolloutPhase)[keyof typeof RolloutPhase];
const rolloutPhases = Object.values(RolloutPhase) as [RolloutPhase, ...RolloutPhase[]];

/** Where the current wave is while the rollout runs. */
export const WavePhase = {
  /** waiting for its start time, window or approval, then publishing desired state */
  Dispatching: 'Dispatching',
  /** agents move the wave's units; waiting for every unit to report the new revision injected and Ready */
  Converging: 'Converging',
  /** converged; the gate keeps watching until the soak time has passed */
  Soaking: 'Soaking',
  /** the final gate evaluation */
  Gating: 'Gating',
} as const;
export type WavePhase = (typeof WavePhase)[keyof typeof WavePhase];
const wavePhases = Object.values(WavePhase) as [WavePhase, ...WavePhase[]];

/** What made a transition happen: the engine's own observation, or an operator's action. */
export const TransitionTrigger = {
  Start: 'start',
  WaitStart: 'wait-start',
  Dispatched: 'dispatched',
  Converged: 'converged',
  SoakElapsed: 'soak-elapsed',
  GatePassed: 'gate-passed',
  LastGatePassed: 'last-gate-passed',
  GateFailed: 'gate-failed',
  RollbackStarted: 'rollback-started',
  WaveRolledBack: 'wave-rolled-back',
  RolledBack: 'rolled-back',
  RollbackFailed: 'rollback-failed',
  Pause: 'pause',
  Resume: 'resume',
  Rollback: 'rollback',
  Abort: 'abort',
  /** an operator retried failed units of a halted rollout: its wave is dispatched again */
  Retry: 'retry',
  /** a final gate could not judge `gates.inconclusive.limit` times in a row or for its timeout: paused */
  InconclusiveLimit: 'inconclusive-limit',
} as const;
export type TransitionTrigger = (typeof TransitionTrigger)[keyof typeof TransitionTrigger];

/** One step of the state machine, with why. `from`/`to` are `Phase` or `Running/<WavePhase>`. */
export const TransitionRecord = z.object({
  at: z.string(),
  from: z.string(),
  to: z.string(),
  trigger: z.string(),
  reason: z.string(),
  wave: z.number().int().nonnegative(),
  /** who: `engine`, or the operator's token name */
  actor: z.string(),
});
export type TransitionRecord = z.infer<typeof TransitionRecord>;

/** Operator actions on a rollout. */
export const OperatorAction = {
  Pause: 'pause',
  Resume: 'resume',
  Approve: 'approve',
  Rollback: 'rollback',
  Abort: 'abort',
  Exclude: 'exclude',
  /** takes exclusions back: the units rejoin a wave that has not started (or the running forced wave) */
  Include: 'include',
} as const;
export type OperatorAction = (typeof OperatorAction)[keyof typeof OperatorAction];

/** API roles, each including the ones before it. */
export const ApiRole = { Viewer: 'viewer', Operator: 'operator', Admin: 'admin' } as const;
export type ApiRole = (typeof ApiRole)[keyof typeof ApiRole];

/** `GET /v1/whoami`: the caller's token name (the audit's "who") and role, so a client offers what the role may do. */
export const CallerIdentity = z.object({
  name: z.string(),
  role: z.enum([ApiRole.Viewer, ApiRole.Operator, ApiRole.Admin]),
});
export type CallerIdentity = z.infer<typeof CallerIdentity>;

// ---- errors ----

export const ApiErrorDetail = z.object({
  /** JSON path of the field (`spec.waves[1].percent`), empty for the whole document */
  path: z.string(),
  message: z.string(),
  line: z.number().int().optional(),
  column: z.number().int().optional(),
  /** the stable code of this one problem, when an error lists several (a refused plan's problems) */
  code: z.string().optional(),
});
export type ApiErrorDetail = z.infer<typeof ApiErrorDetail>;

/** Every 4xx/5xx body. `code` is stable; `message` is for humans. */
export const ApiError = z.object({
  code: z.string(),
  message: z.string(),
  details: z.array(ApiErrorDetail),
});
export type ApiError = z.infer<typeof ApiError>;

export { ApiErrorCode } from './api-error-codes.js';

// ---- requests ----

/**
 * JSON form of `POST /v1/plans` and `POST /v1/rollouts`: the spec as text (YAML or JSON, so errors carry
 * line and column) or as an object, and optionally the inventory to plan against instead of the stored one.
 * A YAML body (`application/yaml`) is the spec text alone.
 */
export const PlanRequest = z.strictObject({
  spec: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
  inventory: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
});
export type PlanRequest = z.infer<typeof PlanRequest>;

export const ActionRequest = z.strictObject({ reason: z.string().max(1000).optional() });
export type ActionRequest = z.infer<typeof ActionRequest>;

/** A unit to exclude: a namespace (every workload in it) or one workload. */
export const ExcludedUnit = z.strictObject({
  cluster: ResourceName,
  namespace: z.string().min(1),
  kind: z.enum(['Deployment', 'StatefulSet', 'DaemonSet']).optional(),
  name: z.string().min(1).optional(),
});
export type ExcludedUnit = z.infer<typeof ExcludedUnit>;

/**
 * Exclusions one rollout may hold (ADR 0015). Each must name a unit of the rollout's plan (a namespace of it or
 * one of its units), so they are also bounded by the plan; past this bound the request is refused (422).
 */
export const MAX_EXCLUSIONS_PER_ROLLOUT = 10_000;

/**
 * Exclusions to add (`exclude`: each names a unit or a namespace of the rollout's plan) or to take back (`include`:
 * each named as it was excluded), else 422 with its `units[i]` path.
 */
export const ExcludeRequest = z.strictObject({
  units: z.array(ExcludedUnit).min(1).max(1000),
  reason: z.string().max(1000).optional(),
});
export type ExcludeRequest = z.infer<typeof ExcludeRequest>;

export const ClusterNameParams = z.strictObject({ name: ResourceName });

export const InventoryRequest = Inventory;

// ---- responses ----

/** What the planner's policy (MESHWAVE_POLICY) says of a rollout: the rules that apply and what it breaks. */
export const PlanPolicy = z.object({
  /** names of the rules selecting a cluster the rollout moves units in */
  rules: z.array(z.string()),
  /** each rule broken, with the rollout file's field at fault: create would refuse it (422 POLICY_VIOLATION) */
  violations: z.array(z.object({ rule: z.string(), path: z.string(), message: z.string() })),
});
export type PlanPolicy = z.infer<typeof PlanPolicy>;

/** A dry run's plan, with what the policy says of it when the planner has one. */
export const PlanResponse = Plan.extend({ policy: PlanPolicy.optional() });
export type PlanResponse = z.infer<typeof PlanResponse>;

export const RolloutSummary = z.object({
  id: z.string(),
  name: z.string(),
  from: z.string(),
  to: z.string(),
  phase: z.enum(rolloutPhases),
  wavePhase: z.enum(wavePhases).optional(),
  /** index of the current wave */
  wave: z.number().int().nonnegative(),
  waves: z.number().int().nonnegative(),
  createdAt: z.string(),
  updatedAt: z.string(),
  deadline: z.string(),
});
export type RolloutSummary = z.infer<typeof RolloutSummary>;

export const RolloutList = z.object({ rollouts: z.array(RolloutSummary) });
export type RolloutList = z.infer<typeof RolloutList>;

/** Counts of units by state. */
export const UnitCounts = z.object({
  pending: z.number().int().nonnegative(),
  moving: z.number().int().nonnegative(),
  converged: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  excluded: z.number().int().nonnegative(),
});
export type UnitCounts = z.infer<typeof UnitCounts>;

export const VmHostCounts = z.object({
  pending: z.number().int().nonnegative(),
  upgrading: z.number().int().nonnegative(),
  converged: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
});
export type VmHostCounts = z.infer<typeof VmHostCounts>;

export const WaveStatus = z.object({
  index: z.number().int().nonnegative(),
  name: z.string(),
  /**
   * pending, awaiting-approval, active, passed, failed, rolling-back (being failed back now), rolled-back,
   * aborted, rollback-failed, not-started (the rollout ended before it started)
   */
  state: z.string(),
  /** the revision the wave's units are moved to now: the rollout's `to`, or `from` once it is failed back */
  desiredRevision: z.string().optional(),
  /** units (exclusions left out) and VM hosts running `to`: the injected sidecar / proxy version, not the label */
  onTarget: z.object({ units: z.number().int().nonnegative(), vmHosts: z.number().int().nonnegative() }).optional(),
  earliestStart: z.string(),
  approval: z.boolean(),
  approved: z.boolean(),
  forced: z.boolean(),
  soakSeconds: z.number().nonnegative(),
  units: UnitCounts,
  /** `onTarget`: the cluster's units of the wave running `to` (injected) */
  clusters: z.array(z.object({ cluster: z.string(), units: UnitCounts, onTarget: z.number().int().optional() })),
  vmHosts: VmHostCounts,
  vmGroups: z.array(z.object({ group: z.string(), hosts: VmHostCounts, onTarget: z.number().int().optional() })),
  failedUnits: z.array(z.object({ unit: z.string(), reason: z.string().optional(), message: z.string().optional() })),
  /**
   * Why the wave is held: its agents start none of these units yet and say why (`ControlPlaneNotReady`,
   * `RevisionTagMissing`); the most common reason, one unit's message, the clusters and how many units.
   */
  held: z
    .object({ reason: z.string(), message: z.string().optional(), clusters: z.array(z.string()), units: z.number() })
    .optional(),
});
export type WaveStatus = z.infer<typeof WaveStatus>;

export const RolloutStatus = RolloutSummary.extend({
  reason: z.string().optional(),
  /** the leader epoch the rollout was last written under (the same from every replica) */
  leaderEpoch: z.number().int().nonnegative(),
  generation: z.number().int().nonnegative(),
  /** W3C trace id of the rollout's one trace (absent when it was created without tracing) */
  traceId: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .optional(),
  waveStatuses: z.array(WaveStatus),
  gateVerdicts: z.array(GateVerdict),
  excluded: z.array(z.string()).max(MAX_EXCLUSIONS_PER_ROLLOUT),
  approvedWaves: z.array(z.number().int()),
  /** now + what is left of the plan's estimates; compared with the deadline */
  estimatedCompletion: z.string(),
  deadlineAtRisk: z.boolean(),
  nextWakeAt: z.string().optional(),
  /** present while the fleet is frozen: this rollout starts nothing until the freeze is lifted */
  freeze: FreezeStatus.optional(),
  /** present once a wave started with membership known: Unreachable clusters, snapshots, skipped and added units */
  membership: MembershipStatus.optional(),
  /** units on `to` over time and the projection from each cluster's observed convergence rate */
  burndown: Burndown.optional(),
  /** the gateway steps and each gateway's share (ADR 0050); absent when the plan has no gateway step */
  gateways: GatewayRolloutStatus.optional(),
  /** the ambient steps, and per cluster each node agent's nodes on target and cordoned (ADR 0051); absent: none */
  ambient: AmbientRolloutStatus.optional(),
  transitions: z.array(TransitionRecord),
});
export type RolloutStatus = z.infer<typeof RolloutStatus>;

export const ActionResponse = z.object({
  id: z.string(),
  action: z.string(),
  phase: z.enum(rolloutPhases),
  wavePhase: z.enum(wavePhases).optional(),
  message: z.string(),
});
export type ActionResponse = z.infer<typeof ActionResponse>;

export const RevisionUsage = z.object({
  revision: z.string(),
  /** workloads on it (assigned), over every cluster */
  workloads: z.number().int().nonnegative(),
  vmHosts: z.number().int().nonnegative(),
  clusters: z.array(z.string()),
});

export const ClusterView = z.object({
  name: z.string(),
  labels: z.record(z.string(), z.string()),
  mesh: z.string().optional(),
  /** inventory generation as reported by the agent; 0 for inventory posted by an operator */
  generation: z.number().int().nonnegative(),
  reportedAt: z.string().optional(),
  workloads: z.number().int().nonnegative(),
  /** workloads per assigned revision (`none` for no revision) */
  revisions: z.record(z.string(), z.number().int().nonnegative()),
  /** workloads whose injected revision differs from the assigned one */
  mismatched: z.number().int().nonnegative(),
  /**
   * sidecarless workloads of ambient namespaces (ADR 0051): their data plane is their node's ztunnel; counted in
   * `workloads`, in no revision of `revisions` and never as mismatched (absent: none)
   */
  ambient: z.number().int().nonnegative().optional(),
});
export type ClusterView = z.infer<typeof ClusterView>;

export const ClusterDetail = ClusterView.extend({
  workloadList: z.array(
    z.object({
      namespace: z.string(),
      kind: z.string(),
      name: z.string(),
      revision: z.string().nullable(),
      injectedRevision: z.string().nullable().optional(),
    }),
  ),
});
export type ClusterDetail = z.infer<typeof ClusterDetail>;

export const VmGroupView = z.object({
  name: z.string(),
  hosts: z.number().int().nonnegative(),
  versions: z.record(z.string(), z.number().int().nonnegative()),
});

export const FleetView = z.object({
  clusters: z.array(ClusterView),
  vmGroups: z.array(VmGroupView),
  /** every revision still in use, so an operator knows when an old control plane can be removed */
  revisions: z.array(RevisionUsage),
});
export type FleetView = z.infer<typeof FleetView>;

export const HealthResponse = z.object({
  status: z.string(),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), detail: z.string().optional() })).optional(),
  leader: z.boolean().optional(),
  epoch: z.number().int().optional(),
});

/** Server-sent event payloads on `GET /v1/events`. */
export const RolloutEvent = z.object({
  /** `condition`: a condition of the rollout changed (DeadlineAtRisk), its reason in `message` */
  type: z.enum(['transition', 'progress', 'verdict', 'action', 'condition']),
  rolloutId: z.string(),
  at: z.string(),
  phase: z.string(),
  wavePhase: z.string().optional(),
  wave: z.number().int().nonnegative(),
  transition: TransitionRecord.optional(),
  verdict: GateVerdict.optional(),
  message: z.string().optional(),
});
export type RolloutEvent = z.infer<typeof RolloutEvent>;
