/** Stable codes for every error the planner raises; the HTTP error handler maps them to statuses. */
export const PlannerErrorCode = {
  InvalidTransition: 'INVALID_TRANSITION',
  ActionNotApplicable: 'ACTION_NOT_APPLICABLE',
  RolloutNotFound: 'ROLLOUT_NOT_FOUND',
  /** a plan page names a wave the rollout's plan does not have */
  WaveNotFound: 'WAVE_NOT_FOUND',
  ClusterNotFound: 'CLUSTER_NOT_FOUND',
  RolloutExists: 'ROLLOUT_EXISTS',
  /** units of a new rollout are driven by an active rollout (two rollouts never move one workload) */
  UnitsOverlap: 'UNITS_OVERLAP',
  /** an exclusion names no unit of the rollout, or would pass the per-rollout bound */
  InvalidExclusion: 'INVALID_EXCLUSION',
  /** a retry names a unit that is not a failed unit of the rollout */
  InvalidRetry: 'INVALID_RETRY',
  NotLeader: 'NOT_LEADER',
  StaleEpoch: 'STALE_EPOCH',
  Conflict: 'CONFLICT',
  InvalidConfig: 'INVALID_CONFIG',
  NoInventory: 'NO_INVENTORY',
  /** the plan misses its deadline and the rollout file does not accept it (`acceptInfeasible`) */
  PlanInfeasible: 'PLAN_INFEASIBLE',
  /** the rollout's deadline is not after now */
  DeadlinePassed: 'DEADLINE_PASSED',
  /** the rollout asks for metric gates (errorRate, latencyP99) and this planner has no Prometheus configured */
  MetricGatesUnavailable: 'METRIC_GATES_UNAVAILABLE',
  /** the rollout breaks a rule of the planner's policy (MESHWAVE_POLICY) */
  PolicyViolation: 'POLICY_VIOLATION',
  /** Prometheus could not be reached (connection refused, DNS, reset) */
  PrometheusUnreachable: 'PROMETHEUS_UNREACHABLE',
  /** Prometheus did not answer within the configured timeout */
  PrometheusTimeout: 'PROMETHEUS_TIMEOUT',
  /** Prometheus answered an error (bad query, execution error, overload): `errorType` and HTTP status in context */
  PrometheusQueryFailed: 'PROMETHEUS_QUERY_FAILED',
  /** Prometheus answered something that is not an instant vector of its HTTP API */
  PrometheusBadResponse: 'PROMETHEUS_BAD_RESPONSE',
  /** one of Istio's rules refuses the rollout's plan (ADR 0028): the version change is not supported */
  UnsupportedUpgradePath: 'UNSUPPORTED_UPGRADE_PATH',
  /** one of Istio's rules refuses the rollout's plan: `to` is not installed or not ready in a selected cluster */
  ControlPlaneMissing: 'CONTROL_PLANE_MISSING',
  /** the plan is refused: `to`'s istiod serves another mesh than namespaces the rollout moves (ADR 0056) */
  ControlPlaneOfAnotherMesh: 'CONTROL_PLANE_OF_ANOTHER_MESH',
  /** a document read from the store does not match its schema (stored-documents.ts): retrying cannot fix it */
  StoredDocumentInvalid: 'STORED_DOCUMENT_INVALID',
  /** the store lost its data (its era marker is gone): this replica stopped acting until restarted (ADR 0025) */
  StoreDataLost: 'STORE_DATA_LOST',
} as const;
export type PlannerErrorCode = (typeof PlannerErrorCode)[keyof typeof PlannerErrorCode];

export class PlannerError extends Error {
  readonly code: PlannerErrorCode;
  readonly context: Readonly<Record<string, unknown>>;
  /** false for errors that retrying cannot fix (the reconcile queue drops the key instead of backing off) */
  readonly retryable: boolean;

  constructor(
    code: PlannerErrorCode,
    message: string,
    options?: { context?: Record<string, unknown>; cause?: unknown; retryable?: boolean },
  ) {
    super(message, { cause: options?.cause });
    this.name = 'PlannerError';
    this.code = code;
    this.context = options?.context ?? {};
    this.retryable = options?.retryable ?? false;
  }
}
