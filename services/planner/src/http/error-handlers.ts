import { ApiErrorCode } from '@meshwave/contracts';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toHttpError } from './http-errors.js';

/** Errors the router raises before any route runs (a malformed URL), in the API's error shape. */
export function frameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const mapped = toHttpError(error);
  void reply.status(mapped.status).send(mapped.body);
}

/** The one error handler (typed errors → status and body; internals only logged) and the 404 for unknown routes. */
export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const mapped = toHttpError(error);
    if (mapped.internal) request.log.error({ err: error }, 'request failed');
    void reply.status(mapped.status).send(mapped.body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({
      code: ApiErrorCode.NotFound,
      message: `no route ${request.method} ${request.url.split('?')[0]}`,
      details: [],
    });
  });
}
