import {
  ApiError,
  ApiRole,
  AuditPage,
  AuditPageQuery,
  RolloutIdParams,
  TransitionPage,
  TransitionPageQuery,
} from '@meshwave/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Planner } from '../runtime/planner.js';
import { requireRole } from './request-auth.js';

const errorResponses = {
  400: ApiError,
  401: ApiError,
  403: ApiError,
  404: ApiError,
  429: ApiError,
  500: ApiError,
  503: ApiError,
};

/**
 * The history routes, paged with the limits their schemas state (ADR 0015): the fleet-wide audit (every rollout's
 * entries, inventory replacements, ...) and a rollout's transitions.
 */
export function registerAuditRoutes(app: FastifyInstance, planner: Planner): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/v1/audit',
    {
      schema: {
        summary: 'The audit: who did what, when and why, fleet-wide or of one scope; newest page first',
        tags: ['audit'],
        querystring: AuditPageQuery,
        response: { 200: AuditPage, ...errorResponses },
      },
      onRequest: requireRole(ApiRole.Viewer),
    },
    async (request) => {
      const { scope, limit, cursor } = request.query;
      const entries = await planner.audit(scope, limit, cursor);
      // A full page may have older entries behind it; the next page says so by being empty.
      return {
        entries: entries.map((e) => ({ ...e, ...(e.detail ? { detail: { ...e.detail } } : {}) })),
        ...(entries.length === limit && entries[0] !== undefined ? { nextCursor: entries[0].id } : {}),
      };
    },
  );

  routes.get(
    '/v1/rollouts/:id/transitions',
    {
      schema: {
        summary: "A rollout's transitions, newest page first (the rollout keeps its newest 500; the audit all)",
        tags: ['rollouts'],
        params: RolloutIdParams,
        querystring: TransitionPageQuery,
        response: { 200: TransitionPage, ...errorResponses },
      },
      onRequest: requireRole(ApiRole.Viewer),
    },
    async (request) => planner.transitions(request.params.id, request.query),
  );
}
