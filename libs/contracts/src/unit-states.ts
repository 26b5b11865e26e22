/** A unit's state in a progress report, and why it fails or waits: stable constants, shown to operators. */
export const UnitState = {
  Pending: 'pending',
  Restarting: 'restarting',
  Converged: 'converged',
  Failed: 'failed',
} as const;
export type UnitState = (typeof UnitState)[keyof typeof UnitState];

/** Why a unit failed; stable constants, shown to operators. */
export const UnitFailureReason = {
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  CrashLoop: 'CrashLoopBackOff',
  SidecarMismatch: 'SidecarMismatch',
  NotFound: 'NotFound',
  ApiError: 'ApiError',
  /** the namespace says `istio-injection=disabled` (or anything but enabled): no revision can inject its workloads */
  InjectionDisabled: 'InjectionDisabled',
} as const;

/** Why a Pending unit is not started (its `reason`): it waits, nothing failed. */
export const UnitWaitReason = {
  /** the target revision's istiod is not ready, or its injection webhook is not registered (ADR 0028) */
  ControlPlaneNotReady: 'ControlPlaneNotReady',
  /** a tag move's revision tag is not registered in the cluster, so it cannot be pointed (ADR 0035) */
  RevisionTagMissing: 'RevisionTagMissing',
  /**
   * the tag points, now, at a revision whose version Istio does not support moving from to the unit's (a tag moved
   * by hand since the plan): the plan's refusal code, so one code names one rule (ADR 0046)
   */
  UnsupportedUpgradePath: 'UNSUPPORTED_UPGRADE_PATH',
} as const;
