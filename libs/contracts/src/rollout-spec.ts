import { z } from 'zod';
import { AmbientRollout } from './ambient.js';
import { GatewayRollout } from './gateway.js';
import { PreflightPolicy } from './preflight.js';
import { RolloutMeshName, rolloutMeshIssues } from './rollout-mesh.js';
import {
  Labels,
  MaxUnavailable,
  NameGlob,
  ObjectName,
  PercentOrCount,
  ResourceName,
  RevisionName,
  Timestamp,
  durationUpTo,
} from './primitives.js';

/** What moves as one unit: each workload on its own, or every workload of a namespace together. */
export const Granularity = { Workload: 'workload', Namespace: 'namespace' } as const;
export type Granularity = (typeof Granularity)[keyof typeof Granularity];

/** What the planner does when a wave's gate fails. */
export const GateFailurePolicy = { Halt: 'halt', RollbackWave: 'rollback-wave', RollbackAll: 'rollback-all' } as const;
export type GateFailurePolicy = (typeof GateFailurePolicy)[keyof typeof GateFailurePolicy];

export const WeekDays = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
export type WeekDay = (typeof WeekDays)[number];

/** A soak longer than a year is a mistake (a rollout has a deadline); the cap keeps every date computable. */
const SoakDuration = durationUpTo('365d');
/** One restart batch converging in more than a week is a mistake; the cap keeps every date computable. */
const BatchEstimate = durationUpTo('7d');
/** A unit taking more than a day to converge is stuck, not slow. */
const ProgressDeadline = durationUpTo('1d').refine((s) => s >= 1, 'at least 1s');

const ClockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'a time of day as HH:MM (00:00 to 24:00)');

/**
 * Selects workloads. Every field given must match (AND); within a list any entry may match (OR).
 * An empty selector selects everything.
 */
export const WorkloadSelector = z.strictObject({
  /** cluster name globs */
  clusters: z.array(NameGlob).optional(),
  /** labels every selected cluster carries */
  clusterLabels: Labels.optional(),
  /** namespace name globs */
  namespaces: z.array(NameGlob).optional(),
  /** labels every selected workload carries */
  workloadLabels: Labels.optional(),
  /** workload kinds (Deployment, StatefulSet, DaemonSet) */
  kinds: z.array(z.enum(['Deployment', 'StatefulSet', 'DaemonSet'])).optional(),
});
export type WorkloadSelector = z.infer<typeof WorkloadSelector>;

/** Selects VM groups by name globs and/or labels (AND). */
export const VmGroupSelector = z.strictObject({
  groups: z.array(NameGlob).optional(),
  groupLabels: Labels.optional(),
});
export type VmGroupSelector = z.infer<typeof VmGroupSelector>;

export const AllowWindow = z.strictObject({
  /** days of the week on which changes may start; default every day */
  days: z.array(z.enum(WeekDays)).min(1).optional(),
  /** start of the window, local time in `windows.timezone` */
  from: ClockTime,
  /** end of the window (exclusive); `to` before `from` spans midnight */
  to: ClockTime,
});
export type AllowWindow = z.infer<typeof AllowWindow>;

export const Blackout = z
  .strictObject({ from: Timestamp, to: Timestamp, reason: z.string().optional() })
  .refine((b) => Date.parse(b.from) < Date.parse(b.to), {
    message: 'a blackout must end after it starts',
    path: ['to'],
  });
export type Blackout = z.infer<typeof Blackout>;

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const Windows = z.strictObject({
  /** IANA time zone the allow windows are written in */
  timezone: z.string().refine(isTimeZone, 'an IANA time zone such as UTC or Europe/Paris').default('UTC'),
  /** when changes may start; none means any time */
  allow: z.array(AllowWindow).default([]),
  /** absolute periods when no change may start */
  blackouts: z.array(Blackout).default([]),
});
export type Windows = z.infer<typeof Windows>;

export const Wave = z.strictObject({
  name: ObjectName,
  select: WorkloadSelector.default({}),
  /** cumulative share of the selector's units that are on `to` once this wave completes (0–100) */
  percent: z.number().min(0).max(100).default(100),
  /** wait after the wave converges before its gate is final; default `defaults.soak` */
  soak: SoakDuration.optional(),
  /** an operator approves before this wave starts */
  approval: z.boolean().default(false),
  /** per cluster: share or count of the wave's units restarting at once; default `defaults.maxUnavailable` */
  maxUnavailable: MaxUnavailable.optional(),
  /** a forced wave collects every eligible unit still on `from`, so the deadline holds */
  forced: z.boolean().default(false),
});
export type Wave = z.infer<typeof Wave>;

export const Pin = z.strictObject({ select: WorkloadSelector, until: Timestamp, reason: z.string().optional() });
export type Pin = z.infer<typeof Pin>;

export const VmRollout = z.strictObject({
  select: VmGroupSelector,
  /** the wave the selected groups ride with */
  wave: ObjectName,
  /** per group: share or count of hosts upgrading or unhealthy at once */
  maxUnavailable: MaxUnavailable.default({ kind: 'count', value: 1 }),
});
export type VmRollout = z.infer<typeof VmRollout>;

/**
 * `enforce: false` makes a metric gate advisory: evaluated and shown with each verdict, never halting a wave.
 * Default true (optional in the schema, so specs stored by an earlier planner read the same).
 */
const Enforce = z.boolean().optional();

/**
 * What a final gate evaluation that cannot judge (Inconclusive, Error) leads to, as Argo Rollouts'
 * `inconclusiveLimit`: after `limit` such evaluations in a row, or `timeout` after the first, the rollout pauses
 * for a person with the reason. It never passes on missing data, and never waits without a bound.
 */
export const InconclusivePolicy = z.strictObject({
  /** evaluations in a row (one per gate retry, 15 s by default); default 10 */
  limit: z.number().int().min(1).max(1000).optional(),
  /** from the first inconclusive evaluation of the wave's final gate; default 30m */
  timeout: durationUpTo('7d').optional(),
});
export type InconclusivePolicy = z.infer<typeof InconclusivePolicy>;
/** The policy where the file (or a spec stored by an earlier planner) says nothing. */
export const DEFAULT_INCONCLUSIVE_POLICY = { limit: 10, timeout: 1800 } as const;

export const Gates = z.strictObject({
  /** share of the wave's workloads that must be available, from agent reports */
  readiness: z.strictObject({ minAvailable: PercentOrCount }).optional(),
  /** absolute SLO on the request error ratio, from Prometheus */
  errorRate: z.strictObject({ max: z.number().min(0).max(1), enforce: Enforce }).optional(),
  /** allowed p99 latency increase of the new-revision cohort over the old one */
  latencyP99: z.strictObject({ maxIncrease: PercentOrCount, enforce: Enforce }).optional(),
  /** when a final gate cannot judge: defaults limit 10, timeout 30m (DEFAULT_INCONCLUSIVE_POLICY) */
  inconclusive: InconclusivePolicy.optional(),
  /** a unit on the new revision whose pods restarted more than `max` times fails the gate, as a crash loop does */
  restarts: z.strictObject({ max: z.number().int().min(0).max(10_000) }).optional(),
  /** statistical test used by comparative gates */
  compare: z.strictObject({ test: z.enum(['mann-whitney']), alpha: z.number().gt(0).lt(1) }).optional(),
});
export type Gates = z.infer<typeof Gates>;

export const RolloutSpecBody = z
  .strictObject({
    /** the revision being replaced */
    from: RevisionName,
    /** the revision being rolled out */
    to: RevisionName,
    /** every selected workload and VM host is on `to` by then */
    deadline: Timestamp,
    granularity: z.enum([Granularity.Workload, Granularity.Namespace]).default(Granularity.Workload),
    /** stable-hash salt; the same salt picks the same canaries; default the rollout's name */
    salt: z.string().min(1).optional(),
    windows: Windows.optional(),
    defaults: z
      .strictObject({
        soak: SoakDuration.default(0),
        maxUnavailable: MaxUnavailable.default({ kind: 'percent', value: 10 }),
        /** estimated time for one restart batch to converge, used to schedule waves */
        batchEstimate: BatchEstimate.default(300),
        /** a unit not converged this long after its restart began fails; absent: each agent's own (default 600 s) */
        progressDeadline: ProgressDeadline.optional(),
      })
      .default({ soak: 0, maxUnavailable: { kind: 'percent', value: 10 }, batchEstimate: 300 }),
    waves: z.array(Wave).min(1, 'at least one wave'),
    exclude: z.array(WorkloadSelector).default([]),
    pins: z.array(Pin).default([]),
    vms: z.array(VmRollout).default([]),
    /** gateways, moved by canary after every workload wave (ADR 0047); absent: gateways are not touched */
    gateways: GatewayRollout.optional(),
    /** istio-cni and ztunnel node by node, then waypoints (ADR 0051); absent: ambient mode is not touched */
    ambient: AmbientRollout.optional(),
    gates: Gates.default({}),
    onGateFailure: z
      .enum([GateFailurePolicy.Halt, GateFailurePolicy.RollbackWave, GateFailurePolicy.RollbackAll])
      .default(GateFailurePolicy.Halt),
    /**
     * Move this revision tag instead of relabelling (ADR 0035): cluster by cluster, in the waves' order, the tag's
     * webhook is pointed at `to` (as `istioctl tag set --overwrite` does) and the workloads labelled with the tag
     * restart; their labels never change. A failback points the tag back at `from` and restarts what moved.
     */
    tag: RevisionName.optional(),
    /** which preflight risks skip a unit (`block`) and which only warn (`warn`, the default for any other) */
    preflight: PreflightPolicy.default({ block: [], warn: [] }),
    /** split waves per mesh so only one mesh's control plane changes at a time */
    sequenceByMesh: z.boolean().default(false),
    /** the one mesh this rollout upgrades, from that mesh's `from` to its `to` (see rollout-mesh.ts) */
    mesh: RolloutMeshName.optional(),
    /**
     * A cluster whose agent is silent past the planner's heartbeat timeout is Unreachable: `wait` (the default)
     * holds the wave for it; `skip` leaves its units out of the wave, to come back in a later or the forced wave.
     */
    onUnreachable: z.enum(['wait', 'skip']).optional(),
    /**
     * When the projection misses the deadline (DeadlineAtRisk), the planner raises each cluster's concurrency to
     * catch up, never above this ceiling; absent: concurrency stays and the status says the deadline is at risk.
     */
    pacing: z.strictObject({ maxUnavailableCeiling: MaxUnavailable }).optional(),
    /**
     * `emergency` (a CVE fix) restarts inside blackouts, but only where the planner's policy allows emergencies
     * (`emergencies.allowInBlackouts`); each such decision is audited. Allow windows still hold. Default normal.
     */
    priority: z.enum(['normal', 'emergency']).optional(),
    /**
     * Moves even where Istio does not support the version change (UNSUPPORTED_UPGRADE_PATH, ADR 0028): the
     * operator's reason is audited with the rollout's creation. It never overrides a missing control plane.
     */
    allowUnsupportedUpgradePath: z.strictObject({ reason: z.string().trim().min(1).max(1000) }).optional(),
    /** create the rollout even though its plan misses the deadline; the reason goes to the audit */
    acceptInfeasible: z.strictObject({ reason: z.string().trim().min(1).max(1000) }).optional(),
  })
  .superRefine((spec, ctx) => {
    if (spec.from === spec.to) ctx.addIssue({ code: 'custom', path: ['to'], message: '`to` must differ from `from`' });
    const names = new Set<string>();
    spec.waves.forEach((w, i) => {
      if (names.has(w.name))
        ctx.addIssue({ code: 'custom', path: ['waves', i, 'name'], message: `duplicate wave name "${w.name}"` });
      names.add(w.name);
      if (w.forced && i !== spec.waves.length - 1)
        ctx.addIssue({ code: 'custom', path: ['waves', i, 'forced'], message: 'only the last wave may be forced' });
    });
    // A statistical test compares cohorts: without the comparison it configures (latencyP99) it would judge nothing.
    if (spec.gates.compare !== undefined && spec.gates.latencyP99 === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['gates', 'compare'],
        message: '`gates.compare` configures the latencyP99 comparison: add `gates.latencyP99` or remove it',
      });
    // A tag points one cluster at one revision: a wave cannot go back while an earlier one stays moved.
    if (spec.tag !== undefined && spec.onGateFailure === GateFailurePolicy.RollbackWave)
      ctx.addIssue({
        code: 'custom',
        path: ['onGateFailure'],
        message: 'a tag move (`tag`) fails back whole clusters: use `halt` or `rollback-all`, not `rollback-wave`',
      });
    if (spec.tag !== undefined && (spec.tag === spec.from || spec.tag === spec.to))
      ctx.addIssue({ code: 'custom', path: ['tag'], message: '`tag` names a revision tag, not `from` or `to`' });
    for (const issue of rolloutMeshIssues(spec)) ctx.addIssue({ code: 'custom', ...issue });
    spec.vms.forEach((v, i) => {
      if (!names.has(v.wave))
        ctx.addIssue({ code: 'custom', path: ['vms', i, 'wave'], message: `no wave named "${v.wave}"` });
    });
  });

export const RolloutSpec = z.strictObject({
  apiVersion: z.literal('meshwave.io/v1alpha1'),
  kind: z.literal('Rollout'),
  metadata: z.strictObject({ name: ResourceName, labels: z.record(z.string(), z.string()).optional() }),
  spec: RolloutSpecBody,
});
/** The rollout file (`rollouts.yml`) after defaults: durations in seconds, percent-or-count parsed. */
export type RolloutSpec = z.infer<typeof RolloutSpec>;
/** The rollout file as written. */
export type RolloutSpecInput = z.input<typeof RolloutSpec>;
