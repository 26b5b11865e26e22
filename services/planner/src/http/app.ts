import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import {
  ActionRequest,
  ActionResponse,
  ApiError,
  ApiErrorCode,
  ApiRole,
  ClusterDetail,
  ClusterNameParams,
  CreatedRollout,
  ExcludeRequest,
  FleetView,
  HealthResponse,
  InventoryRequest,
  OperatorAction,
  PlanRequest,
  MeshSplitRequest,
  MeshSplitResult,
  PlanResponse,
  RolloutIdParams,
  RolloutList,
  RolloutStatus,
} from '@meshwave/contracts';
import { splitMeshes } from '@meshwave/mesh';
import type { Logger } from '@meshwave/telemetry';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import type { Planner, PlanInput } from '../runtime/planner.js';
import type { ApiToken } from './auth.js';
import { registerAuditRoutes } from './audit-routes.js';
import { registerDashboard } from './dashboard.js';
import { registerEventStream } from './event-stream-route.js';
import { resolveHttpLimits, serverOptionsOf, type HttpLimitsOverrides } from './http-limits.js';
import { toHttpError } from './http-errors.js';
import { requestLogFields } from './log-redaction.js';
import { registerRateLimits } from './rate-limits.js';
import { identify, requireRole } from './request-auth.js';

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
const errorResponses = {
  400: ApiError,
  401: ApiError,
  403: ApiError,
  404: ApiError,
  409: ApiError,
  413: ApiError,
  415: ApiError,
  422: ApiError,
  429: ApiError,
  500: ApiError,
  503: ApiError,
};
/** A YAML body arrives as text; a JSON body as `{ spec, inventory? }`. */
const SpecBody = z.union([
  z.string().min(1).describe('the rollout spec as YAML (Content-Type: application/yaml)'),
  PlanRequest,
]);
const AuditList = z.object({
  entries: z.array(
    z.object({
      actor: z.string(),
      action: z.string(),
      scope: z.string(),
      reason: z.string().optional(),
      at: z.string(),
      detail: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
});

function planInputOf(body: z.infer<typeof SpecBody>): PlanInput {
  if (typeof body === 'string') return { spec: body };
  return { spec: body.spec, ...(body.inventory !== undefined ? { inventory: body.inventory } : {}) };
}

/** Errors the router raises before any route runs (a malformed URL), in the API's error shape. */
function frameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const mapped = toHttpError(error);
  void reply.status(mapped.status).send(mapped.body);
}

/**
 * The planner's HTTP API, built apart from `listen` so tests drive it through `inject`. Every route declares
 * its request and response schemas (from @meshwave/contracts); OpenAPI 3.1 comes from the same schemas.
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
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((error, request, reply) => {
    const mapped = toHttpError(error);
    if (mapped.internal) request.log.error({ err: error }, 'request failed');
    void reply.status(mapped.status).send(mapped.body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({
      code: ApiErrorCode.NotFound,
      message: `no route ${request.method} ${request.url.split('?')[0]}`,
      details: [],
    });
  });

  // Before every route's own hooks (so added before any route), in this order: who the caller is, then whether
  // its budget allows the request. Routes check the role in `onRequest` too: no body is read or validated for an
  // anonymous caller.
  app.addHook('onRequest', identify(options.tokens));
  await registerRateLimits(app, limits.rateLimit);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'meshwave planner',
        version: '0.1.0',
        description: 'Rolls Istio revisions across a fleet in health-gated waves.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  /**
   * Mutations only the leader performs. A follower forwards them to the leader when it advertises its URL
   * (behind one Service, any replica can take the request); otherwise the caller gets 503 NOT_LEADER.
   */
  const onLeader = async <T>(
    request: FastifyRequest,
    reply: FastifyReply,
    run: () => Promise<T>,
  ): Promise<T | undefined> => {
    try {
      return await run();
    } catch (error) {
      if (
        !(error instanceof PlannerError) ||
        error.code !== PlannerErrorCode.NotLeader ||
        options.forwardToLeader === false
      )
        throw error;
      const holder = await planner.leader();
      const url = holder?.includes('@') ? holder.slice(holder.indexOf('@') + 1) : undefined;
      if (!url || request.headers['x-meshwave-forwarded'] !== undefined) {
        throw new PlannerError(PlannerErrorCode.NotLeader, error.message, { context: { leader: holder ?? 'none' } });
      }
      // A POST without a body is forwarded as an empty JSON object (a bodiless POST with a length reaches
      // fastify as an empty string, which no JSON schema accepts).
      const empty = request.body === undefined || request.body === null || request.body === '';
      const body = empty ? '{}' : typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
      const contentType = empty ? 'application/json' : request.headers['content-type'];
      const response = await fetch(new URL(request.url, url), {
        method: request.method,
        headers: {
          ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}),
          ...(contentType ? { 'content-type': contentType } : {}),
          'x-meshwave-forwarded': planner.instanceId,
        },
        body,
      });
      const text = await response.text();
      void reply
        .status(response.status)
        .header('content-type', response.headers.get('content-type') ?? 'application/json')
        .serializer((x: unknown) => x as string)
        .send(text);
      return undefined;
    }
  };

  // ---- plans and rollouts ----

  app.post(
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

  app.post(
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

  app.post(
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

  app.get(
    '/v1/rollouts',
    {
      schema: { summary: 'List rollouts', tags: ['rollouts'], response: { 200: RolloutList, ...errorResponses } },
      onRequest: requireRole(ApiRole.Viewer),
    },
    async () => ({
      rollouts: await planner.listRollouts(),
    }),
  );

  app.get(
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

  app.get(
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

  for (const action of [
    OperatorAction.Pause,
    OperatorAction.Resume,
    OperatorAction.Approve,
    OperatorAction.Rollback,
    OperatorAction.Abort,
  ] as const) {
    app.post(
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

  app.post(
    '/v1/rollouts/:id/exclude',
    {
      schema: {
        summary: 'Exclude workloads or namespaces from a rollout',
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
          action: OperatorAction.Exclude,
          actor: request.identity!.name,
          units,
          ...(reason !== undefined ? { reason } : {}),
        }),
      );
      return result ?? reply;
    },
  );

  // ---- fleet ----

  app.get(
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

  app.get(
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

  app.put(
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

  // ---- events (SSE) ----

  registerEventStream(app, {
    planner,
    streamsPerClient: limits.eventStreamsPerClient,
    keepAliveMs: limits.eventStreamKeepAliveMs,
  });

  // ---- operations ----

  app.get(
    '/healthz',
    { schema: { summary: 'Liveness', tags: ['ops'], security: [], response: { 200: HealthResponse } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: store and bus reachable, leadership known',
        tags: ['ops'],
        security: [],
        response: { 200: HealthResponse, 503: HealthResponse },
      },
    },
    async (_request, reply) => {
      const r = await planner.readiness();
      return reply
        .status(r.ready ? 200 : 503)
        .send({ status: r.ready ? 'ready' : 'not-ready', checks: r.checks, leader: r.leader, epoch: r.epoch });
    },
  );

  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics', tags: ['ops'], security: [], hide: true } as never },
    async (_request, reply) => {
      const text = await planner.metrics.registry.metrics();
      return reply.header('content-type', planner.metrics.registry.contentType).send(text);
    },
  );

  app.get('/openapi.json', { schema: { hide: true } as never }, async () => app.swagger());

  registerAuditRoutes(app, planner);
  registerDashboard(app);

  return app;
}
