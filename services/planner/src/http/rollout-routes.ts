import {
  ApiRole,
  AuditEntryView,
  CreatedRollout,
  RolloutIdParams,
  RolloutList,
  RolloutStatus,
} from '@meshwave/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Planner } from '../runtime/planner.js';
import type { OnLeader } from './leader-forwarding.js';
import { requireRole } from './request-auth.js';
import { SpecBody, errorResponses, planInputOf } from './route-schemas.js';

/** A rollout's audit entries (the fleet-wide, paged audit has their stream ids too). */
const AuditList = z.object({ entries: z.array(AuditEntryView.omit({ id: true })) });

/** Rollouts: start one (on the leader), list them, one rollout's status and its audit. */
export function registerRolloutRoutes(app: FastifyInstance, planner: Planner, onLeader: OnLeader): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post(
    '/v1/rollouts',
    {
      schema: {
        summary: 'Start a rollout',
        tags: ['rollouts'],
        body: SpecBody,
        response: { 201: CreatedRollout, ...errorResponses },
      },
      onRequest: requireRole(ApiRole.Operator),
    },
    async (request, reply) => {
      const created = await onLeader(request, reply, () =>
        planner.createRollout(planInputOf(request.body), request.identity!.name),
      );
      if (created === undefined) return reply;
      return reply.status(201).send(created);
    },
  );

  routes.get(
    '/v1/rollouts',
    {
      schema: { summary: 'List rollouts', tags: ['rollouts'], response: { 200: RolloutList, ...errorResponses } },
      onRequest: requireRole(ApiRole.Viewer),
    },
    async () => ({
      rollouts: await planner.listRollouts(),
    }),
  );

  routes.get(
    '/v1/rollouts/:id',
    {
      schema: {
        summary: 'A rollout: phase, waves, units per cluster by state, verdicts, estimate vs deadline, transitions',
        tags: ['rollouts'],
        params: RolloutIdParams,
        response: { 200: RolloutStatus, ...errorResponses },
      },
      onRequest: requireRole(ApiRole.Viewer),
    },
    async (request) => planner.getRollout(request.params.id),
  );

  routes.get(
    '/v1/rollouts/:id/audit',
    {
      schema: {
        summary: 'Audit entries of a rollout',
        tags: ['rollouts'],
        params: RolloutIdParams,
        response: { 200: AuditList, ...errorResponses },
      },
      onRequest: requireRole(ApiRole.Viewer),
    },
    async (request) => {
      await planner.getRollout(request.params.id);
      return {
        entries: (await planner.audit(request.params.id, 1000)).map((e) => ({
          ...e,
          ...(e.detail ? { detail: { ...e.detail } } : {}),
        })),
      };
    },
  );
}
