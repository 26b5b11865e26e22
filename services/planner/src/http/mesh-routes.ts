import { ApiRole, MeshApplyRequest, MeshApplyResult, MeshSplitRequest, MeshSplitResult } from '@meshwave/contracts';
import { splitMeshes } from '@meshwave/mesh';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Planner } from '../runtime/planner.js';
import type { OnLeader } from './leader-forwarding.js';
import { requireRole } from './request-auth.js';
import { errorResponses } from './route-schemas.js';

/** Meshes: split a service graph into isolated meshes (pure, nothing stored), and apply a split (ADR 0049). */
export function registerMeshRoutes(app: FastifyInstance, planner: Planner, onLeader: OnLeader): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  routes.post(
    '/v1/meshes/split',
    {
      schema: {
        summary: 'Split a service graph into isolated meshes (min cut under a size cap)',
        tags: ['meshes'],
        body: MeshSplitRequest,
        response: { 200: MeshSplitResult, ...errorResponses },
      },
      onRequest: requireRole(ApiRole.Viewer),
    },
    async (request) => splitMeshes(request.body.graph, request.body.options),
  );
  routes.post(
    '/v1/meshes/apply',
    {
      schema: {
        summary:
          "Apply a split through the agents: namespaces' meshwave.io/mesh labels and each mesh revision's discoverySelectors (dryRun, the default, only says what changes)",
        tags: ['meshes'],
        body: MeshApplyRequest,
        response: { 200: MeshApplyResult, ...errorResponses },
      },
      onRequest: requireRole(ApiRole.Operator),
    },
    async (request, reply) => {
      const result = await onLeader(request, reply, () => planner.applyMeshSplit(request.body, request.identity!.name));
      return result ?? reply;
    },
  );
}
