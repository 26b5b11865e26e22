import { HealthResponse } from '@meshwave/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Planner } from '../runtime/planner.js';

/** Operations endpoints, open to anyone: liveness, readiness, Prometheus metrics and the OpenAPI document. */
export function registerOpsRoutes(app: FastifyInstance, planner: Planner): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/healthz',
    { schema: { summary: 'Liveness', tags: ['ops'], security: [], response: { 200: HealthResponse } } },
    async () => ({ status: 'ok' }),
  );

  routes.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: store and bus reachable, leadership known',
        tags: ['ops'],
        security: [],
        response: { 200: HealthResponse, 503: HealthResponse },
      },
    },
    async (_request, reply) => {
      const r = await planner.readiness();
      return reply
        .status(r.ready ? 200 : 503)
        .send({ status: r.ready ? 'ready' : 'not-ready', checks: r.checks, leader: r.leader, epoch: r.epoch });
    },
  );

  routes.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics', tags: ['ops'], security: [], hide: true } as never },
    async (_request, reply) => {
      const text = await planner.metrics.registry.metrics();
      return reply.header('content-type', planner.metrics.registry.contentType).send(text);
    },
  );

  routes.get('/openapi.json', { schema: { hide: true } as never }, async () => app.swagger());
}
