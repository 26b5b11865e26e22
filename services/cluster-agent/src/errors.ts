/** Stable codes for every error this package raises; callers switch on `code`, never on messages. */
export const ClusterAgentErrorCode = {
  /** Kubernetes answered 404 */
  NotFound: 'K8S_NOT_FOUND',
  /** Kubernetes answered 409: a precondition (resourceVersion) or a create of an existing object */
  Conflict: 'K8S_CONFLICT',
  /** Kubernetes answered 429 and retries ran out */
  Throttled: 'K8S_THROTTLED',
  /** 5xx or a network failure after retries */
  Unavailable: 'K8S_UNAVAILABLE',
  /** 401/403: the agent's identity may not do this (RBAC) */
  Forbidden: 'K8S_FORBIDDEN',
  /** 400/422: the request itself is wrong; retrying cannot help */
  Invalid: 'K8S_INVALID',
  /** agent configuration (env, flags, files) is missing or wrong */
  Config: 'AGENT_CONFIG',
  /** a manifest given to `meshwave pin` cannot be read or parsed */
  Manifest: 'PIN_MANIFEST',
} as const;
export type ClusterAgentErrorCode = (typeof ClusterAgentErrorCode)[keyof typeof ClusterAgentErrorCode];

/** Error codes whose cause may go away by itself; the reconcile queue retries them with backoff. */
const RETRYABLE: ReadonlySet<ClusterAgentErrorCode> = new Set([
  ClusterAgentErrorCode.Conflict,
  ClusterAgentErrorCode.Throttled,
  ClusterAgentErrorCode.Unavailable,
]);

export class ClusterAgentError extends Error {
  readonly code: ClusterAgentErrorCode;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(
    code: ClusterAgentErrorCode,
    message: string,
    context: Readonly<Record<string, unknown>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, { cause: options?.cause });
    this.name = 'ClusterAgentError';
    this.code = code;
    this.context = context;
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}

/** Maps an HTTP status from the apiserver to the error code callers act on. */
export function codeForStatus(status: number): ClusterAgentErrorCode {
  if (status === 404) return ClusterAgentErrorCode.NotFound;
  if (status === 409) return ClusterAgentErrorCode.Conflict;
  if (status === 429) return ClusterAgentErrorCode.Throttled;
  if (status === 401 || status === 403) return ClusterAgentErrorCode.Forbidden;
  if (status >= 500 || status === 0) return ClusterAgentErrorCode.Unavailable;
  return ClusterAgentErrorCode.Invalid;
}

export const isNotFound = (err: unknown): boolean =>
  err instanceof ClusterAgentError && err.code === ClusterAgentErrorCode.NotFound;
export const isConflict = (err: unknown): boolean =>
  err instanceof ClusterAgentError && err.code === ClusterAgentErrorCode.Conflict;
