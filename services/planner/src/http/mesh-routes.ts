import { ApiRole, MeshSplitRequest, MeshSplitResult } from '@meshwave/contracts';
import { splitMeshes } from '@meshwave/mesh';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { requireRole } from './request-auth.js';
import { errorResponses } from './route-schemas.js';

/** Meshes: split a service graph into isolated meshes (pure, nothing stored). */
export function registerMeshRoutes(app: FastifyInstance): void {
  app.withTypeProvider<ZodTypeProvider>().post(
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
}
