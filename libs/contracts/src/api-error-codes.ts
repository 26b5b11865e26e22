// The API's stable error codes (the `code` of every 4xx/5xx body), one list for the planner and its clients.

/** Stable API error codes. */
export const ApiErrorCode = {
  InvalidRequest: 'INVALID_REQUEST',
  InvalidSpec: 'INVALID_SPEC',
  Unauthenticated: 'UNAUTHENTICATED',
  Forbidden: 'FORBIDDEN',
  NotFound: 'NOT_FOUND',
  Conflict: 'CONFLICT',
  ActionNotApplicable: 'ACTION_NOT_APPLICABLE',
  NotLeader: 'NOT_LEADER',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  UnsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  Unavailable: 'UNAVAILABLE',
  /** too many requests for this token or address (or open event streams); `Retry-After` says when to retry */
  RateLimited: 'RATE_LIMITED',
  /** Istio does not support the plan's version change in some cluster (ADR 0028); details name each */
  UnsupportedUpgradePath: 'UNSUPPORTED_UPGRADE_PATH',
  /** the `to` revision's control plane is not installed or not ready in some selected cluster (ADR 0028) */
  ControlPlaneMissing: 'CONTROL_PLANE_MISSING',
  /** the `to` revision's istiod serves another mesh than namespaces the rollout moves (ADR 0056) */
  ControlPlaneOfAnotherMesh: 'CONTROL_PLANE_OF_ANOTHER_MESH',
  /** the plan misses its deadline (each problem in `details`) and the file does not say `acceptInfeasible` */
  PlanInfeasible: 'PLAN_INFEASIBLE',
  /** the rollout's deadline is not after now */
  DeadlinePassed: 'DEADLINE_PASSED',
  /** the rollout breaks a rule of the planner's policy (`MESHWAVE_POLICY`): each in `details`, code = rule name */
  PolicyViolation: 'POLICY_VIOLATION',
  Internal: 'INTERNAL',
} as const;
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode];
