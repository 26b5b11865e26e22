import { z } from 'zod';

/**
 * The verdict of an advisory gate (`enforce: false`), shown beside the verdict that decides: how a team tries a
 * new gate on real waves before it may halt one.
 */
export const AdvisoryVerdict = z.object({
  /** health source, e.g. `prometheus-error-rate` */
  source: z.string(),
  outcome: z.string(),
  reason: z.string(),
  message: z.string(),
});
export type AdvisoryVerdict = z.infer<typeof AdvisoryVerdict>;

/** A gate evaluation's outcome: data, never an exception. */
export const GateOutcome = {
  Successful: 'Successful',
  Failed: 'Failed',
  /** not enough data yet (reports missing, units still moving, too few metric samples); evaluated again later */
  Inconclusive: 'Inconclusive',
  /** the health source could not judge (e.g. Prometheus unreachable or a query failed); evaluated again later */
  Error: 'Error',
} as const;
export type GateOutcome = (typeof GateOutcome)[keyof typeof GateOutcome];

/** Why a gate reached its outcome; stable constants operators and tests switch on. */
export const GateReason = {
  AllUnitsConverged: 'AllUnitsConverged',
  UnitsConverging: 'UnitsConverging',
  UnitFailed: 'UnitFailed',
  CrashLoop: 'CrashLoop',
  /** `gates.restarts`: a moved unit's pods restarted more than `max` times (judged as a crash loop) */
  TooManyRestarts: 'TooManyRestarts',
  SidecarMismatch: 'SidecarMismatch',
  VmHostFailed: 'VmHostFailed',
  ReportsMissing: 'ReportsMissing',
  ReadinessBelowMinimum: 'ReadinessBelowMinimum',
  NothingToMove: 'NothingToMove',
  SourceError: 'SourceError',
  /** `gates.errorRate`: 5xx / requests of the wave's workloads over the window is at most `max` */
  ErrorRateWithinMax: 'ErrorRateWithinMax',
  ErrorRateAboveMax: 'ErrorRateAboveMax',
  /** `gates.latencyP99`: the new-revision cohort's p99 is not slower than the old one's by more than allowed */
  LatencyWithinMax: 'LatencyWithinMax',
  LatencyIncreaseAboveMax: 'LatencyIncreaseAboveMax',
  /** no or too few metric samples (requests, workloads) to judge a metric gate yet */
  MetricsInsufficient: 'MetricsInsufficient',
  /** the metrics backend did not answer, or answered an error */
  MetricsUnavailable: 'MetricsUnavailable',
  /** the rollout asks for metric gates and this planner has no metrics backend configured */
  MetricsNotConfigured: 'MetricsNotConfigured',
  /** a failure was held: the planner's own event loop lags, or the reporting source says it is Degraded */
  JudgementHeld: 'JudgementHeld',
  /** no traffic data for the new revision while the old one answers errors: a failure, not a lack of data */
  NewRevisionSilent: 'NewRevisionSilent',
} as const;
export type GateReason = (typeof GateReason)[keyof typeof GateReason];

export const GateVerdict = z.object({
  wave: z.number().int().nonnegative(),
  outcome: z.enum([GateOutcome.Successful, GateOutcome.Failed, GateOutcome.Inconclusive, GateOutcome.Error]),
  reason: z.string(),
  message: z.string(),
  /** health source that judged, e.g. `agent-reports` */
  source: z.string(),
  at: z.string(),
  /** units (`cluster/namespace[/kind/name]`) or VM hosts (`vmgroup/<group>/<host>`) that failed it */
  failed: z.array(z.string()).default([]),
  /** true for the evaluation that decided the wave (end of soak), false for watches while converging */
  final: z.boolean(),
  advisory: z.array(AdvisoryVerdict).optional(),
});
export type GateVerdict = z.infer<typeof GateVerdict>;
