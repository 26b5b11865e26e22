import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  GroupHostParams,
  GroupParams,
  HostDesired,
  HostDesiredQuery,
  HostParams,
  HostRegistrationBody,
  HostRegistrationResult,
  HostRemovalResult,
  HostReportAck,
  HostReportBody,
} from '@meshwave/contracts';
import type { VmBridge } from '../../runtime/vm-bridge.js';
import { errorResponses } from '../error-handler.js';
import { inRequestSpan } from '../request-span.js';

/** The host API: enrollment and removal (enrollment token), desired-version long poll and reports (host token). */
export function registerHostRoutes(app: FastifyInstance, bridge: VmBridge): void {
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
      await inRequestSpan(bridge.tracer, request, () => bridge.report(request.params.host, request.body));
      return { accepted: true };
    },
  );
}
