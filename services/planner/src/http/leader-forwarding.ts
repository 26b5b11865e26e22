import type { FastifyReply, FastifyRequest } from 'fastify';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import type { Planner } from '../runtime/planner.js';

/** Runs a leader-only mutation; undefined when the request was forwarded and `reply` already sent. */
export type OnLeader = <T>(
  request: FastifyRequest,
  reply: FastifyReply,
  run: () => Promise<T>,
) => Promise<T | undefined>;

/**
 * Mutations only the leader performs. A follower forwards them to the leader when it advertises its URL
 * (behind one Service, any replica can take the request); otherwise the caller gets 503 NOT_LEADER.
 */
export function leaderForwarding(planner: Planner, forwardToLeader: boolean): OnLeader {
  return async <T>(request: FastifyRequest, reply: FastifyReply, run: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof PlannerError) || error.code !== PlannerErrorCode.NotLeader || !forwardToLeader)
        throw error;
      const holder = await planner.leader();
      const url = holder?.includes('@') ? holder.slice(holder.indexOf('@') + 1) : undefined;
      if (!url || request.headers['x-meshwave-forwarded'] !== undefined) {
        throw new PlannerError(PlannerErrorCode.NotLeader, error.message, { context: { leader: holder ?? 'none' } });
      }
      await forward(planner, request, reply, url);
      return undefined;
    }
  };
}

/** Sends the request on to the leader at `url` and its answer back as it came. */
async function forward(planner: Planner, request: FastifyRequest, reply: FastifyReply, url: string): Promise<void> {
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
}
