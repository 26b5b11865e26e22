import { ApiRole, PlanResponse } from '@meshwave/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Planner } from '../runtime/planner.js';
import { requireRole } from './request-auth.js';
import { SpecBody, errorResponses, planInputOf } from './route-schemas.js';

/** Plans: a rollout's waves without starting it (a dry run any viewer may ask for). */
export function registerPlanRoutes(app: FastifyInstance, planner: Planner): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/v1/plans',
    {
      schema: {
        summary: 'Plan a rollout (dry run)',
        tags: ['rollouts'],
        body: SpecBody,
        response: { 200: PlanResponse, ...errorResponses },
      },
      onRequest: requireRole(ApiRole.Viewer),
    },
    async (request) => {
      return planner.plan(planInputOf(request.body));
    },
  );
}
