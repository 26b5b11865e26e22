import { ApiErrorCode, InvalidInputError, type ApiError, type ApiErrorDetail } from '@meshwave/contracts';
import { MeshError, MeshErrorCode } from '@meshwave/mesh';
import type { FastifyError } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { PlannerError, PlannerErrorCode } from '../errors.js';

/** An error the HTTP layer raises itself (auth, content type), with its status. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly details: readonly ApiErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const PLANNER_STATUS: Record<PlannerErrorCode, { status: number; code: ApiErrorCode }> = {
  [PlannerErrorCode.RolloutNotFound]: { status: 404, code: ApiErrorCode.NotFound },
  [PlannerErrorCode.WaveNotFound]: { status: 404, code: ApiErrorCode.NotFound },
  [PlannerErrorCode.ClusterNotFound]: { status: 404, code: ApiErrorCode.NotFound },
  [PlannerErrorCode.ActionNotApplicable]: { status: 409, code: ApiErrorCode.ActionNotApplicable },
  [PlannerErrorCode.RolloutExists]: { status: 409, code: ApiErrorCode.Conflict },
  [PlannerErrorCode.UnitsOverlap]: { status: 409, code: ApiErrorCode.Conflict },
  [PlannerErrorCode.InvalidExclusion]: { status: 422, code: ApiErrorCode.InvalidRequest },
  [PlannerErrorCode.InvalidRetry]: { status: 422, code: ApiErrorCode.InvalidRequest },
  [PlannerErrorCode.Conflict]: { status: 409, code: ApiErrorCode.Conflict },
  [PlannerErrorCode.NotLeader]: { status: 503, code: ApiErrorCode.NotLeader },
  [PlannerErrorCode.StaleEpoch]: { status: 503, code: ApiErrorCode.NotLeader },
  [PlannerErrorCode.NoInventory]: { status: 422, code: ApiErrorCode.InvalidRequest },
  [PlannerErrorCode.InvalidTransition]: { status: 500, code: ApiErrorCode.Internal },
  [PlannerErrorCode.InvalidConfig]: { status: 500, code: ApiErrorCode.Internal },
  [PlannerErrorCode.StoredDocumentInvalid]: { status: 500, code: ApiErrorCode.Internal },
  [PlannerErrorCode.StoreDataLost]: { status: 503, code: ApiErrorCode.Unavailable },
  [PlannerErrorCode.MetricGatesUnavailable]: { status: 422, code: ApiErrorCode.InvalidRequest },
  [PlannerErrorCode.UnsupportedUpgradePath]: { status: 422, code: ApiErrorCode.UnsupportedUpgradePath },
  [PlannerErrorCode.ControlPlaneMissing]: { status: 422, code: ApiErrorCode.ControlPlaneMissing },
  [PlannerErrorCode.ControlPlaneOfAnotherMesh]: { status: 422, code: ApiErrorCode.ControlPlaneOfAnotherMesh },
  [PlannerErrorCode.PlanInfeasible]: { status: 422, code: ApiErrorCode.PlanInfeasible },
  [PlannerErrorCode.DeadlinePassed]: { status: 422, code: ApiErrorCode.DeadlinePassed },
  [PlannerErrorCode.PolicyViolation]: { status: 422, code: ApiErrorCode.PolicyViolation },
  // raised while evaluating gates, never by a request; mapped for completeness
  [PlannerErrorCode.PrometheusUnreachable]: { status: 503, code: ApiErrorCode.Unavailable },
  [PlannerErrorCode.PrometheusTimeout]: { status: 503, code: ApiErrorCode.Unavailable },
  [PlannerErrorCode.PrometheusQueryFailed]: { status: 503, code: ApiErrorCode.Unavailable },
  [PlannerErrorCode.PrometheusBadResponse]: { status: 503, code: ApiErrorCode.Unavailable },
};

/** The `details` a PlannerError carries in its context (what conflicts, which field), when it has any. */
function detailsOf(value: unknown): ApiErrorDetail[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((d: unknown) => {
    const { path, message, code } = (d ?? {}) as { path?: unknown; message?: unknown; code?: unknown };
    if (typeof path !== 'string' || typeof message !== 'string') return [];
    return [{ path, message, ...(typeof code === 'string' ? { code } : {}) }];
  });
}

/** `/spec/waves/1/percent` → `spec.waves[1].percent` */
function pathOf(instancePath: string): string {
  return instancePath
    .split('/')
    .filter((s) => s !== '')
    .reduce((out, seg) => (/^\d+$/.test(seg) ? `${out}[${seg}]` : out === '' ? seg : `${out}.${seg}`), '');
}

/**
 * The one mapping from errors to HTTP: a status and `{ code, message, details[] }`. 4xx bodies say what
 * was wrong and where; a 5xx says nothing about internals (the log has them).
 */
export function toHttpError(error: unknown): { status: number; body: ApiError; internal: boolean } {
  if (error instanceof HttpError)
    return {
      status: error.statusCode,
      body: { code: error.code, message: error.message, details: [...error.details] },
      internal: false,
    };
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = (error as { validationContext?: string }).validationContext ?? 'body';
    const details = error.validation.map((v) => ({
      path: [where, pathOf(v.instancePath)].filter((s) => s !== '').join('.'),
      message: v.message ?? 'invalid',
    }));
    return {
      status: 400,
      body: { code: ApiErrorCode.InvalidRequest, message: `invalid request ${where}`, details },
      internal: false,
    };
  }
  if (error instanceof InvalidInputError) {
    const details = error.problems.map((p) => ({
      path: p.path,
      message: p.message,
      ...(p.line !== undefined ? { line: p.line } : {}),
      ...(p.column !== undefined ? { column: p.column } : {}),
    }));
    return {
      status: 400,
      body: {
        code: ApiErrorCode.InvalidSpec,
        message: `the document is invalid (${details.length} problem${details.length === 1 ? '' : 's'})`,
        details,
      },
      internal: false,
    };
  }
  if (error instanceof MeshError) {
    // What the constraints make impossible is a 422, a malformed graph or option a 400 (the split has no I/O).
    const status = error.code === MeshErrorCode.Infeasible ? 422 : 400;
    const path = error.path === undefined ? 'body' : `body.${error.path}`;
    return {
      status,
      body: { code: ApiErrorCode.InvalidRequest, message: error.message, details: [{ path, message: error.message }] },
      internal: false,
    };
  }
  if (error instanceof PlannerError) {
    const m = PLANNER_STATUS[error.code];
    if (m.status >= 500 && m.code === ApiErrorCode.Internal)
      return { status: 500, body: { code: m.code, message: 'internal error', details: [] }, internal: true };
    const details =
      error.code === PlannerErrorCode.NotLeader && typeof error.context.leader === 'string'
        ? [{ path: 'leader', message: error.context.leader }]
        : error.code === PlannerErrorCode.MetricGatesUnavailable && Array.isArray(error.context.paths)
          ? error.context.paths.map((path) => ({
              path: String(path),
              message: 'needs Prometheus: this planner has no MESHWAVE_PROMETHEUS_URL',
            }))
          : detailsOf(error.context.details);
    return { status: m.status, body: { code: m.code, message: error.message, details }, internal: false };
  }
  if (isResponseSerializationError(error))
    return {
      status: 500,
      body: { code: ApiErrorCode.Internal, message: 'internal error', details: [] },
      internal: true,
    };
  const fe = error as Partial<FastifyError>;
  if (fe.statusCode === 413)
    return {
      status: 413,
      body: { code: ApiErrorCode.PayloadTooLarge, message: fe.message ?? 'request body too large', details: [] },
      internal: false,
    };
  if (fe.statusCode === 415)
    return {
      status: 415,
      body: { code: ApiErrorCode.UnsupportedMediaType, message: fe.message ?? 'unsupported media type', details: [] },
      internal: false,
    };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return {
      status: fe.statusCode,
      body: { code: ApiErrorCode.InvalidRequest, message: fe.message ?? 'invalid request', details: [] },
      internal: false,
    };
  }
  return { status: 500, body: { code: ApiErrorCode.Internal, message: 'internal error', details: [] }, internal: true };
}
