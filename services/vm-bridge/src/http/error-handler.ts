import type { Logger } from '@meshwave/telemetry';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { HostApiErrorBody as ApiErrorBody } from '@meshwave/contracts';
import { VmBridgeError, VmBridgeErrorCode } from '../errors.js';

const STATUS_OF: Record<VmBridgeErrorCode, number> = {
  [VmBridgeErrorCode.Unauthenticated]: 401,
  [VmBridgeErrorCode.Forbidden]: 403,
  [VmBridgeErrorCode.UnknownHost]: 404,
  [VmBridgeErrorCode.UnknownGroup]: 404,
  [VmBridgeErrorCode.HostConflict]: 409,
  [VmBridgeErrorCode.UnknownBundle]: 409,
  [VmBridgeErrorCode.StoreConflict]: 503,
  [VmBridgeErrorCode.Fenced]: 503,
  [VmBridgeErrorCode.InvalidConfig]: 500,
};

/** The error answers every route declares. */
export const errorResponses = {
  400: ApiErrorBody,
  401: ApiErrorBody,
  403: ApiErrorBody,
  404: ApiErrorBody,
  409: ApiErrorBody,
  503: ApiErrorBody,
};

/** A URL the router refuses (malformed, or a parameter over the router's cap), in the API's error shape. */
export function frameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  void reply.status(error.statusCode ?? 400).send({ code: 'INVALID_REQUEST', message: error.message });
}

/** The one place where errors become HTTP statuses; a 5xx never carries internals. */
export function errorHandler(log: Logger) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const first = error.validation[0];
      const where = `${error.validationContext ?? 'request'}${first?.instancePath ? first.instancePath.replaceAll('/', '.') : ''}`;
      return reply
        .status(400)
        .send({ code: 'INVALID_REQUEST', message: `${where}: ${first?.message ?? 'invalid'}`, path: where });
    }
    if (error instanceof VmBridgeError) {
      const status = STATUS_OF[error.code];
      if (status < 500) return reply.status(status).send({ code: error.code, message: error.message });
      log.error({ err: error, url: request.url }, 'request failed');
      return reply
        .status(status)
        .send({ code: error.code, message: status === 503 ? 'the bridge is not active; retry' : 'internal error' });
    }
    if (typeof error.statusCode === 'number' && error.statusCode < 500) {
      return reply.status(error.statusCode).send({ code: error.code ?? 'BAD_REQUEST', message: error.message });
    }
    log.error({ err: error, url: request.url }, 'request failed');
    return reply.status(500).send({ code: 'INTERNAL', message: 'internal error' });
  };
}
