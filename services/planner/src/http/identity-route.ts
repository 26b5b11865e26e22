import { ApiRole, CallerIdentity } from '@meshwave/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { requireRole } from './request-auth.js';
import { errorResponses } from './route-schemas.js';

/**
 * `GET /v1/whoami`: who the token is and what it may do. The dashboard asks once after its login form, to check
 * the token and to offer no action the role may not take (the routes still check every request).
 */
export function registerIdentityRoute(app: FastifyInstance): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/whoami',
    {
      schema: {
        summary: "The caller's token name and role",
        tags: ['ops'],
        response: { 200: CallerIdentity, ...errorResponses },
      },
      onRequest: requireRole(ApiRole.Viewer),
    },
    async (request) => ({ name: request.identity!.name, role: request.identity!.role }),
  );
}
