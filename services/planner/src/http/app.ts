import type { Logger } from '@meshwave/telemetry';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Planner } from '../runtime/planner.js';
import { registerActionRoutes } from './action-routes.js';
import type { ApiToken } from './auth.js';
import { registerAuditRoutes } from './audit-routes.js';
import { registerDashboard } from './dashboard.js';
import { frameworkError, registerErrorHandlers } from './error-handlers.js';
import { registerEventStream } from './event-stream-route.js';
import { registerFleetRoutes } from './fleet-routes.js';
import { registerFreezeRoutes } from './freeze-routes.js';
import { registerIdentityRoute } from './identity-route.js';
import { resolveHttpLimits, serverOptionsOf, type HttpLimitsOverrides } from './http-limits.js';
import { leaderForwarding } from './leader-forwarding.js';
import { requestLogFields } from './log-redaction.js';
import { registerMeshRoutes } from './mesh-routes.js';
import { registerOpenApi } from './openapi.js';
import { registerOpsRoutes } from './ops-routes.js';
import { registerPlanRoutes } from './plan-routes.js';
import { registerRateLimits } from './rate-limits.js';
import { identify } from './request-auth.js';
import { registerRolloutRoutes } from './rollout-routes.js';

export interface BuildAppOptions {
  readonly planner: Planner;
  /** bearer tokens, hashed (see `hashTokens`) */
  readonly tokens: readonly ApiToken[];
  /** pino logger for requests and errors (URLs redacted); default none */
  readonly logger?: Logger;
  /** body limit, timeouts, rate limits, event streams; `DEFAULT_HTTP_LIMITS` for what is not given */
  readonly limits?: HttpLimitsOverrides;
  /** forward mutations that reach a follower to the leader (when the leader advertises its URL); default true */
  readonly forwardToLeader?: boolean;
}

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml', 'text/plain'];

/**
 * The planner's HTTP API, built apart from `listen` so tests drive it through `inject`. Every route declares
 * its request and response schemas (from @meshwave/contracts); OpenAPI 3.1 comes from the same schemas.
 * Here only the plugins are registered (error handling, auth, rate limits, OpenAPI, leader forwarding) and one
 * route file per resource; the order of the route files is the order of the paths in the OpenAPI document.
 */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { planner } = options;
  const limits = resolveHttpLimits(options.limits);
  const app = Fastify({
    // every request log line goes through the redacting `req` serializer (no token in a logged URL)
    loggerInstance: options.logger?.child({}, { serializers: { req: requestLogFields } }) as
      FastifyBaseLogger | undefined,
    ...serverOptionsOf(limits),
    frameworkErrors: frameworkError,
    return503OnClosing: true,
    // No plugin timeout: every plugin here loads from local code and files (no network), so fastify's timer could
    // only ever measure a busy event loop (a process's heavy start-up), never a hung plugin; it killed the API of
    // a planner that was merely slow to start. A start that never completes shows as a failing readiness probe.
    pluginTimeout: 0,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_req, body, done) => done(null, body));
  registerErrorHandlers(app);

  // Before every route's own hooks (so added before any route), in this order: who the caller is, then whether
  // its budget allows the request. Routes check the role in `onRequest` too: no body is read or validated for an
  // anonymous caller.
  app.addHook('onRequest', identify(options.tokens));
  await registerRateLimits(app, limits.rateLimit);
  await registerOpenApi(app);
  const onLeader = leaderForwarding(planner, options.forwardToLeader !== false);

  registerPlanRoutes(app, planner);
  registerMeshRoutes(app, planner, onLeader);
  registerRolloutRoutes(app, planner, onLeader);
  registerActionRoutes(app, planner, onLeader);
  registerFleetRoutes(app, planner, onLeader);
  registerFreezeRoutes(app, planner, onLeader);
  registerEventStream(app, {
    planner,
    streamsPerClient: limits.eventStreamsPerClient,
    keepAliveMs: limits.eventStreamKeepAliveMs,
  });
  registerOpsRoutes(app, planner);
  registerIdentityRoute(app);
  registerAuditRoutes(app, planner);
  registerDashboard(app);

  return app;
}
