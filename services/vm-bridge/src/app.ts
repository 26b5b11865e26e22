import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { silentLogger, type Logger } from '@meshwave/telemetry';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { VmBridgeError, VmBridgeErrorCode } from './errors.js';
import { HostApiLimits, serverOptionsOf } from './http-limits.js';
import {
  GroupHostParams,
  GroupParams,
  HostApiErrorBody as ApiErrorBody,
  HostDesired,
  HostDesiredQuery,
  HostParams,
  HostRegistrationBody,
  HostRegistrationResult,
  HostRemovalResult,
  HostReportAck,
  HostReportBody,
} from '@meshwave/contracts';
import type { VmBridge } from './vm-bridge.js';

export interface BuildAppOptions {
  readonly bridge: VmBridge;
  readonly logger?: Logger;
  /** serve the `<version>.tar.gz` bundles of this directory at /v1/bundles/ (hosts verify their sha256) */
  readonly bundleDir?: string;
  /** body limit and timeouts; defaults for what is not given */
  readonly limits?: z.input<typeof HostApiLimits>;
}

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

const errorResponses = {
  400: ApiErrorBody,
  401: ApiErrorBody,
  403: ApiErrorBody,
  404: ApiErrorBody,
  409: ApiErrorBody,
  503: ApiErrorBody,
};

/** A URL the router refuses (malformed, or a parameter over the router's cap), in the API's error shape. */
function frameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  void reply.status(error.statusCode ?? 400).send({ code: 'INVALID_REQUEST', message: error.message });
}

/**
 * The vm-bridge HTTP API for hosts (desired-version long poll, reports, enrollment) plus /metrics and
 * /healthz. Built apart from `listen` so tests drive it with `inject()`.
 */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { bridge } = options;
  // Requests are not logged one by one (hundreds of hosts long-poll); failures are, by the error handler.
  const log = (options.logger ?? silentLogger()).child({ component: 'vm-bridge-http' });
  const app = Fastify({
    logger: false,
    ...serverOptionsOf(HostApiLimits.parse(options.limits ?? {})),
    frameworkErrors: frameworkError,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // The one place where errors become HTTP statuses; a 5xx never carries internals.
  app.setErrorHandler((error: FastifyError, request, reply) => {
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
  });

  const api = app.withTypeProvider<ZodTypeProvider>();

  api.post(
    '/v1/groups/:group/hosts',
    {
      schema: {
        params: GroupParams,
        body: HostRegistrationBody,
        response: { 200: HostRegistrationResult, 201: HostRegistrationResult, ...errorResponses },
      },
    },
    async (request, reply) => {
      const result = await bridge.registerHost(request.params.group, request.headers.authorization, request.body);
      return reply.status(result.result === 'created' ? 201 : 200).send(result);
    },
  );

  api.delete(
    '/v1/groups/:group/hosts/:host',
    { schema: { params: GroupHostParams, response: { 200: HostRemovalResult, ...errorResponses } } },
    (request) => bridge.removeHost(request.params.group, request.params.host, request.headers.authorization),
  );

  api.get(
    '/v1/hosts/:host/desired',
    {
      schema: {
        params: HostParams,
        querystring: HostDesiredQuery,
        response: { 200: HostDesired, 304: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      bridge.authenticateHost(request.params.host, request.headers.authorization);
      const abort = new AbortController();
      request.raw.once('close', () => abort.abort());
      const answer = await bridge.awaitDesired(
        request.params.host,
        request.headers['if-none-match'],
        request.query.waitSeconds * 1000,
        abort.signal,
      );
      if (!answer.changed) return reply.status(304).header('etag', answer.etag).send(null);
      return reply.status(200).header('etag', answer.desired.etag).send(answer.desired);
    },
  );

  api.post(
    '/v1/hosts/:host/report',
    { schema: { params: HostParams, body: HostReportBody, response: { 200: HostReportAck, ...errorResponses } } },
    async (request) => {
      bridge.authenticateHost(request.params.host, request.headers.authorization);
      await bridge.report(request.params.host, request.body);
      return { accepted: true };
    },
  );

  const bundleDir = options.bundleDir;
  if (bundleDir !== undefined) {
    api.get(
      '/v1/bundles/:file',
      {
        schema: {
          params: z.object({ file: z.string().regex(/^[a-z0-9][-a-z0-9.~]*\.tar\.gz$/, 'a bundle file name') }),
        },
      },
      async (request, reply) => {
        const file = path.join(bundleDir, request.params.file);
        const stat = await fs.stat(file).catch(() => undefined);
        if (stat === undefined)
          return reply.status(404).send({ code: 'UNKNOWN_BUNDLE', message: `no bundle ${request.params.file}` });
        return reply
          .header('content-type', 'application/gzip')
          .header('content-length', stat.size)
          .send(createReadStream(file));
      },
    );
  }

  api.get('/healthz', async (_request, reply) => {
    if (!bridge.active)
      return reply.status(503).send({ status: 'standby', message: 'waiting for the vm-bridge lease' });
    return { status: 'ok' };
  });

  api.get('/metrics', async (_request, reply) => {
    const body = await bridge.metrics.registry.metrics();
    return reply.header('content-type', bridge.metrics.registry.contentType).send(body);
  });

  await app.ready();
  return app;
}
