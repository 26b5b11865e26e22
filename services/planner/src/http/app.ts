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
  type RolloutEvent,
} from '@meshwave/contracts';
import { splitMeshes } from '@meshwave/mesh';
import type { Logger } from '@meshwave/telemetry';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import type { Planner, PlanInput } from '../runtime/planner.js';
import { authenticate, roleAllows, type ApiToken } from './auth.js';
import { registerDashboard } from './dashboard.js';
import { HttpError, toHttpError } from './http-errors.js';

export interface BuildAppOptions {
  readonly planner: Planner;
  /** bearer tokens, hashed (see `hashTokens`) */
  readonly tokens: readonly ApiToken[];
  /** pino logger for requests and errors; default none */
  readonly logger?: Logger;
  /** bytes a request body may have; default 1 MiB */
  readonly bodyLimit?: number;
  /** forward mutations that reach a follower to the leader (when the leader advertises its URL); default true */
  readonly forwardToLeader?: boolean;
  /** SSE keep-alive comment interval; default 15 s */
  readonly sseKeepAliveMs?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    identity?: ApiToken;
  }
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

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
  // EventSource cannot set headers: the SSE stream also takes the token as a query parameter.
  const query = request.query as { access_token?: unknown } | undefined;
  return typeof query?.access_token === 'string' ? query.access_token : undefined;
}

/**
 * The planner's HTTP API, built apart from `listen` so tests drive it through `inject`. Every route declares
 * its request and response schemas (from @meshwave/contracts); OpenAPI 3.1 comes from the same schemas.
 */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { planner } = options;
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger | undefined,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
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

  /** Authenticates and checks the role; 401 without a valid token, 403 when the role is too low. */
  const requireRole =
    (role: ApiRole) =>
    async (request: FastifyRequest): Promise<void> => {
      const token = bearerOf(request);
      if (token === undefined) throw new HttpError(401, ApiErrorCode.Unauthenticated, 'a bearer token is required');
      const identity = authenticate(options.tokens, token);
      if (!identity) throw new HttpError(401, ApiErrorCode.Unauthenticated, 'unknown bearer token');
      if (!roleAllows(identity.role, role))
        throw new HttpError(
          403,
          ApiErrorCode.Forbidden,
          `role ${identity.role} may not do this; ${role} or above is required`,
        );
      request.identity = identity;
    };

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
      preHandler: requireRole(ApiRole.Viewer),
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
      preHandler: requireRole(ApiRole.Viewer),
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
      preHandler: requireRole(ApiRole.Operator),
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
      preHandler: requireRole(ApiRole.Viewer),
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
      preHandler: requireRole(ApiRole.Viewer),
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
      preHandler: requireRole(ApiRole.Viewer),
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
        preHandler: requireRole(ApiRole.Operator),
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
      preHandler: requireRole(ApiRole.Operator),
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
      preHandler: requireRole(ApiRole.Viewer),
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
      preHandler: requireRole(ApiRole.Viewer),
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
      preHandler: requireRole(ApiRole.Admin),
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

  app.get(
    '/v1/events',
    {
      schema: {
        summary: 'Server-sent events: transitions, verdicts, progress, actions',
        tags: ['rollouts'],
        querystring: z.object({ rollout: z.string().optional(), access_token: z.string().optional() }),
      },
      preHandler: requireRole(ApiRole.Viewer),
    },
    (request, reply) => {
      const only = request.query.rollout;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(': meshwave planner events\n\n');
      let seq = 0;
      const send = (event: RolloutEvent): void => {
        if (only !== undefined && event.rolloutId !== only) return;
        res.write(`id: ${++seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      };
      const unsubscribe = planner.onEvent(send);
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), options.sseKeepAliveMs ?? 15_000);
      request.raw.on('close', () => {
        clearInterval(keepAlive);
        unsubscribe();
      });
    },
  );

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

  registerDashboard(app);

  return app;
}
