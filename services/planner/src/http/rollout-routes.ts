import {
  ApiRole,
  AuditEntryView,
  CreatedRollout,
  PlanPageQuery,
  PlanSkippedPage,
  PlanSummary,
  PlanWaveParams,
  PlanWavePage,
  RolloutIdParams,
  RolloutList,
  RolloutStatus,
} from '@meshwave/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Planner } from '../runtime/planner.js';
import { planSkippedPage, planWavePage, summarizePlan } from '../views/plan-pages.js';
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
      // the plan's summary: the whole plan is ≈15 MB at 100,000 units; its units are read in pages (ADR 0039)
      return reply.status(201).send({ ...created, plan: summarizePlan(created.plan) });
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
        response: {
          200: RolloutStatus,
          304: z.null().describe('a finished rollout whose status is still the one `If-None-Match` names'),
          ...errorResponses,
        },
      },
      onRequest: requireRole(ApiRole.Viewer),
    },
    async (request, reply) => {
      // A finished rollout's status carries an entity tag: a page that keeps reading it (its agents still report)
      // is answered 304 while nothing it derives from changed, without building it (finished-statuses.ts).
      const { status, etag } = await planner.getTaggedRollout(request.params.id);
      if (etag === undefined) return status;
      void reply.header('etag', etag);
      if (request.headers['if-none-match'] === etag) return reply.code(304).send(null);
      return status;
    },
  );

  registerPlanPageRoutes(app, planner);

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

/** A started rollout's plan in parts (ADR 0039): its summary, pages of each wave's units, of what it skipped. */
function registerPlanPageRoutes(app: FastifyInstance, planner: Planner): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const viewer = requireRole(ApiRole.Viewer);
  routes.get(
    '/v1/rollouts/:id/plan',
    {
      schema: {
        summary: "A rollout's plan without its units: waves with their counts",
        tags: ['rollouts'],
        params: RolloutIdParams,
        response: { 200: PlanSummary, ...errorResponses },
      },
      onRequest: viewer,
    },
    async (request) => summarizePlan(await planner.rolloutPlan(request.params.id)),
  );
  routes.get(
    '/v1/rollouts/:id/plan/waves/:wave',
    {
      schema: {
        summary: "A page of a wave's workloads, units and VM hosts (each list cut at the same offset)",
        tags: ['rollouts'],
        params: PlanWaveParams,
        querystring: PlanPageQuery,
        response: { 200: PlanWavePage, ...errorResponses },
      },
      onRequest: viewer,
    },
    async (request) => planWavePage(await planner.rolloutPlan(request.params.id), request.params.wave, request.query),
  );
  routes.get(
    '/v1/rollouts/:id/plan/skipped',
    {
      schema: {
        summary: 'A page of the workloads the plan skipped and of its preflight risks',
        tags: ['rollouts'],
        params: RolloutIdParams,
        querystring: PlanPageQuery,
        response: { 200: PlanSkippedPage, ...errorResponses },
      },
      onRequest: viewer,
    },
    async (request) => planSkippedPage(await planner.rolloutPlan(request.params.id), request.query),
  );
}
