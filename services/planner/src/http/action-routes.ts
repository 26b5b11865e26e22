import {
  ActionRequest,
  ActionResponse,
  ApiRole,
  ExcludeRequest,
  OperatorAction,
  RetryRequest,
  RolloutIdParams,
} from '@meshwave/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Planner } from '../runtime/planner.js';
import type { OnLeader } from './leader-forwarding.js';
import { requireRole } from './request-auth.js';
import { errorResponses } from './route-schemas.js';

/** Operator actions on a rollout (on the leader): pause, resume, approve, rollback, abort, exclude, include. */
export function registerActionRoutes(app: FastifyInstance, planner: Planner, onLeader: OnLeader): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  for (const action of [
    OperatorAction.Pause,
    OperatorAction.Resume,
    OperatorAction.Approve,
    OperatorAction.Rollback,
    OperatorAction.Abort,
  ] as const) {
    routes.post(
      `/v1/rollouts/:id/${action}`,
      {
        schema: {
          summary: `${action[0]!.toUpperCase()}${action.slice(1)} a rollout (409 when it does not apply now)`,
          tags: ['actions'],
          params: RolloutIdParams,
          body: ActionRequest.nullish(),
          response: { 200: ActionResponse, ...errorResponses },
        },
        onRequest: requireRole(ApiRole.Operator),
      },
      async (request, reply) => {
        const reason = request.body?.reason;
        const result = await onLeader(request, reply, () =>
          planner.act(request.params.id, {
            action,
            actor: request.identity!.name,
            ...(reason !== undefined ? { reason } : {}),
          }),
        );
        return result ?? reply;
      },
    );
  }

  // exclude and its reverse take the same body: the units, as `cluster/namespace[/kind/name]` parts
  for (const [action, summary] of [
    [OperatorAction.Exclude, 'Exclude workloads or namespaces from a rollout'],
    [
      OperatorAction.Include,
      'Include excluded workloads or namespaces back: they rejoin a wave that has not started (or the running forced wave); 409 when none is left',
    ],
  ] as const) {
    routes.post(
      `/v1/rollouts/:id/${action}`,
      {
        schema: {
          summary,
          tags: ['actions'],
          params: RolloutIdParams,
          body: ExcludeRequest,
          response: { 200: ActionResponse, ...errorResponses },
        },
        onRequest: requireRole(ApiRole.Operator),
      },
      async (request, reply) => {
        const { units, reason } = request.body;
        const result = await onLeader(request, reply, () =>
          planner.act(request.params.id, {
            action,
            actor: request.identity!.name,
            units,
            ...(reason !== undefined ? { reason } : {}),
          }),
        );
        return result ?? reply;
      },
    );
  }

  routes.post(
    '/v1/rollouts/:id/retry',
    {
      schema: {
        summary: 'Retry failed units on the same target (every failed unit when `units` is absent)',
        tags: ['actions'],
        params: RolloutIdParams,
        body: RetryRequest,
        response: { 200: ActionResponse, ...errorResponses },
      },
      onRequest: requireRole(ApiRole.Operator),
    },
    async (request, reply) => {
      const { units, reason } = request.body;
      const result = await onLeader(request, reply, () =>
        planner.retry(request.params.id, {
          actor: request.identity!.name,
          reason,
          ...(units !== undefined ? { units } : {}),
        }),
      );
      return result ?? reply;
    },
  );
}
