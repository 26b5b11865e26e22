import { PlannedAmbientStep } from './ambient.js';
import { PlannedGatewayStep } from './gateway.js';
import { PlanRisk } from './preflight.js';
import { z } from 'zod';

/** A workload as it appears in a plan. */
export const PlannedWorkload = z.object({
  cluster: z.string(),
  namespace: z.string(),
  kind: z.string(),
  name: z.string(),
});
export type PlannedWorkload = z.infer<typeof PlannedWorkload>;

/** A VM host in a plan, with the restart batch it belongs to inside its group. */
export const PlannedVmHost = z.object({ group: z.string(), name: z.string(), batch: z.number().int().nonnegative() });
export type PlannedVmHost = z.infer<typeof PlannedVmHost>;

/** Why a workload is in no wave. */
export const SkipReason = {
  Excluded: 'excluded',
  NotOnFrom: 'not-on-from',
  AlreadyOnTarget: 'already-on-target',
  NotSelected: 'not-selected',
  /** a tag move (`spec.tag`) moves the workloads labelled with the tag; this one names its revision itself */
  NotTagged: 'not-tagged',
  /** a preflight risk the rollout's `preflight.block` names (the plan's `risks` say which) */
  Preflight: 'preflight',
  /** in an ambient namespace without a sidecar: its node's ztunnel moves it, no restart (ADR 0051) */
  Ambient: 'ambient',
} as const;
export type SkipReason = (typeof SkipReason)[keyof typeof SkipReason];

export const SkippedWorkload = PlannedWorkload.extend({
  reason: z.enum([
    SkipReason.Excluded,
    SkipReason.NotOnFrom,
    SkipReason.AlreadyOnTarget,
    SkipReason.NotSelected,
    SkipReason.NotTagged,
    SkipReason.Preflight,
    SkipReason.Ambient,
  ]),
  /** the revision it is on, for `not-on-from` */
  revision: z.string().nullable().optional(),
});
export type SkippedWorkload = z.infer<typeof SkippedWorkload>;

export const PlanProblemCode = {
  DeadlineMissed: 'DEADLINE_MISSED',
  PinAfterDeadline: 'PIN_AFTER_DEADLINE',
  NoWindowBeforeDeadline: 'NO_WINDOW_BEFORE_DEADLINE',
  EmptyWave: 'EMPTY_WAVE',
  DeadlinePassed: 'DEADLINE_PASSED',
  /** Istio does not support the version change from `from` to `to` in a cluster (ADR 0028): a refusal */
  UnsupportedUpgradePath: 'UNSUPPORTED_UPGRADE_PATH',
  /** the `to` revision's control plane is not installed, or not ready, in a selected cluster: a refusal */
  ControlPlaneMissing: 'CONTROL_PLANE_MISSING',
  /** a selected cluster reports no control planes, or a version is unknown: the rules could not be checked */
  ControlPlaneUnknown: 'CONTROL_PLANE_UNKNOWN',
  /** the `to` revision's control plane serves another mesh than namespaces the plan moves (ADR 0056): a refusal */
  ControlPlaneOfAnotherMesh: 'CONTROL_PLANE_OF_ANOTHER_MESH',
} as const;
export type PlanProblemCode = (typeof PlanProblemCode)[keyof typeof PlanProblemCode];

export const PlanProblem = z.object({
  code: z.string(),
  message: z.string(),
  wave: z.string().optional(),
  /** true when the problem makes the plan miss its deadline, or refuses it */
  blocking: z.boolean(),
  /** true when one of Istio's rules refuses the plan (ADR 0028): `meshwave plan` exits 4, the API answers 422 */
  refusal: z.boolean().optional(),
  /** the cluster the problem is about */
  cluster: z.string().optional(),
});
export type PlanProblem = z.infer<typeof PlanProblem>;

export const ClusterBatchEstimate = z.object({
  cluster: z.string(),
  units: z.number().int(),
  maxUnavailable: z.number().int(),
  batches: z.number().int(),
});

export const PlannedWave = z.object({
  index: z.number().int().nonnegative(),
  name: z.string(),
  /** mesh this wave changes, when the rollout is sequenced mesh by mesh */
  mesh: z.string().optional(),
  earliestStart: z.string(),
  /** estimated end of convergence (before soak) */
  estimatedConverged: z.string(),
  soakSeconds: z.number().nonnegative(),
  approval: z.boolean(),
  forced: z.boolean(),
  workloads: z.array(PlannedWorkload),
  /** namespace-granularity units as `cluster/namespace`; workload granularity lists `cluster/namespace/kind/name` */
  units: z.array(z.string()),
  vmHosts: z.array(PlannedVmHost),
  clusters: z.array(ClusterBatchEstimate),
  /** why the start moved later than the previous wave allowed (window, blackout, pin) */
  delays: z.array(z.string()),
});
export type PlannedWave = z.infer<typeof PlannedWave>;

/** The output of planning: waves with start times, what is skipped and why, and whether the deadline holds. */
export const Plan = z.object({
  rollout: z.string(),
  from: z.string(),
  to: z.string(),
  now: z.string(),
  deadline: z.string(),
  feasible: z.boolean(),
  problems: z.array(PlanProblem),
  estimatedCompletion: z.string(),
  granularity: z.string(),
  waves: z.array(PlannedWave),
  /** gateway canary steps after every wave (ADR 0047); absent in plans made before gateways */
  gatewaySteps: z.array(PlannedGatewayStep).default([]),
  /** istio-cni and ztunnel node waves, then waypoint steps (ADR 0051); absent in plans made before ambient */
  ambientSteps: z.array(PlannedAmbientStep).default([]),
  skipped: z.array(SkippedWorkload),
  /** what could go wrong for each unit when it restarts (ADR 0035); absent in plans made before the preflight */
  risks: z.array(PlanRisk).default([]),
  /** hosts of VM groups that no `vms` entry selects, untouched */
  untouchedVmHosts: z.number().int().nonnegative(),
});
export type Plan = z.infer<typeof Plan>;
