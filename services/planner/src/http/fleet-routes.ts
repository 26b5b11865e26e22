import {
  ApiRole,
  ClusterDetail,
  ClusterNameParams,
  FleetView,
  InventoryRequest,
  RevisionsView,
} from '@meshwave/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Planner } from '../runtime/planner.js';
import type { OnLeader } from './leader-forwarding.js';
import { requireRole } from './request-auth.js';
import { errorResponses } from './route-schemas.js';

/** The fleet: its view, one cluster, and the operator's base inventory (replaced on the leader). */
export function registerFleetRoutes(app: FastifyInstance, planner: Planner, onLeader: OnLeader): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/v1/fleet',
    {
      schema: {
        summary: 'Clusters, VM groups, units per revision, revisions still in use',
        tags: ['fleet'],
        response: { 200: FleetView, ...errorResponses },
      },
      onRequest: requireRole(ApiRole.Viewer),
    },
    async () => planner.fleet(),
  );

  routes.get(
    '/v1/revisions',
    {
      schema: {
        summary:
          'Every revision with what still uses it (pods, VM hosts, tags, labels) and whether it is safe to remove',
        tags: ['fleet'],
        response: { 200: RevisionsView, ...errorResponses },
      },
      onRequest: requireRole(ApiRole.Viewer),
    },
    async () => planner.revisions(),
  );

  routes.get(
    '/v1/clusters/:name',
    {
      schema: {
        summary: 'One cluster and its workloads',
        tags: ['fleet'],
        params: ClusterNameParams,
        response: { 200: ClusterDetail, ...errorResponses },
      },
      onRequest: requireRole(ApiRole.Viewer),
    },
    async (request) => planner.cluster(request.params.name),
  );

  routes.put(
    '/v1/inventory',
    {
      schema: {
        summary: 'Replace the base inventory (agents’ reports still override their clusters)',
        tags: ['fleet'],
        body: InventoryRequest,
        response: { 204: z.null(), ...errorResponses },
      },
      onRequest: requireRole(ApiRole.Admin),
    },
    async (request, reply) => {
      const done = await onLeader(request, reply, async () => {
        await planner.putInventory(request.body, request.identity!.name);
        return true;
      });
      if (done === undefined) return reply;
      return reply.status(204).send(null);
    },
  );
}
