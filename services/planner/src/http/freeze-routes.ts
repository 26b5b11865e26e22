import { ApiRole, FreezeRequest, FreezeStatus } from '@meshwave/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Planner } from '../runtime/planner.js';
import type { OnLeader } from './leader-forwarding.js';
import { requireRole } from './request-auth.js';
import { errorResponses } from './route-schemas.js';

/** The fleet-wide freeze: take it and lift it (operators, on the leader), read it (viewers). */
export function registerFreezeRoutes(app: FastifyInstance, planner: Planner, onLeader: OnLeader): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/v1/freeze',
    {
      schema: {
        summary: 'Whether the fleet is frozen: since when, by whom, why',
        tags: ['freeze'],
        response: { 200: FreezeStatus, ...errorResponses },
      },
      onRequest: requireRole(ApiRole.Viewer),
    },
    async () => planner.freezeStatus(),
  );

  for (const [method, frozen] of [
    ['POST', true],
    ['DELETE', false],
  ] as const) {
    routes.route({
      method,
      url: '/v1/freeze',
      schema: {
        summary: frozen
          ? 'Freeze the fleet: every active rollout stops starting restarts and waves at once (409 when frozen)'
          : 'Lift the freeze: rollouts go on where they stopped (409 when not frozen)',
        tags: ['freeze'],
        body: FreezeRequest,
        response: { 200: FreezeStatus, ...errorResponses },
      },
      onRequest: requireRole(ApiRole.Operator),
      handler: async (request, reply) => {
        const result = await onLeader(request, reply, () =>
          planner.changeFreeze(frozen, request.body.reason, request.identity!.name),
        );
        return result ?? reply;
      },
    });
  }
}
