import { ApiErrorCode, type ApiRole } from '@meshwave/contracts';
import type { FastifyRequest } from 'fastify';
import { authenticate, roleAllows, type ApiToken } from './auth.js';
import { HttpError } from './http-errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** the caller's token, once `identify` found a valid one */
    identity?: ApiToken;
  }
  interface FastifyContextConfig {
    /**
     * The route takes the token as `?access_token=` too: only a read that a browser makes without headers
     * (EventSource, for the event stream). Everywhere else a token belongs in the Authorization header.
     */
    queryToken?: boolean;
  }
}

/** The query parameter a browser's EventSource carries the token in. */
export const QUERY_TOKEN_PARAM = 'access_token';

function headerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
}

function queryToken(request: FastifyRequest): unknown {
  return (request.query as Record<string, unknown> | undefined)?.[QUERY_TOKEN_PARAM];
}

/** Whether this request may carry its token in the query: a GET of a route that says so. */
function takesQueryToken(request: FastifyRequest): boolean {
  return request.method === 'GET' && request.routeOptions.config.queryToken === true;
}

/** The token the request presents where this route accepts one; undefined when there is none. */
function presentedToken(request: FastifyRequest): string | undefined {
  const header = headerToken(request);
  if (header !== undefined) return header;
  const query = queryToken(request);
  return takesQueryToken(request) && typeof query === 'string' ? query : undefined;
}

/**
 * An `onRequest` hook that runs before anything else: it sets `request.identity` when the request presents a
 * valid token, so that the rate limit counts per token, and leaves it unset otherwise (the caller is then
 * counted by address, and `requireRole` answers 401).
 */
export function identify(tokens: readonly ApiToken[]) {
  return async (request: FastifyRequest): Promise<void> => {
    const token = presentedToken(request);
    const identity = token === undefined ? undefined : authenticate(tokens, token);
    if (identity !== undefined) request.identity = identity;
  };
}

/**
 * An `onRequest` hook that admits callers with `role` or above: 401 without a valid token, 403 when the role is
 * too low. It runs before the body is read, parsed or validated, so an anonymous caller learns nothing about
 * the route's schema. A token in the query of a route that does not take one is refused even when the header
 * carries a valid token too: that URL has already leaked the token into proxies' and browsers' histories.
 */
export function requireRole(role: ApiRole) {
  return async (request: FastifyRequest): Promise<void> => {
    if (queryToken(request) !== undefined && !takesQueryToken(request))
      throw new HttpError(
        401,
        ApiErrorCode.Unauthenticated,
        `${QUERY_TOKEN_PARAM} is accepted only by GET /v1/events; send the token as "Authorization: Bearer <token>"`,
      );
    if (presentedToken(request) === undefined)
      throw new HttpError(401, ApiErrorCode.Unauthenticated, 'a bearer token is required');
    const identity = request.identity;
    if (identity === undefined) throw new HttpError(401, ApiErrorCode.Unauthenticated, 'unknown bearer token');
    if (!roleAllows(identity.role, role))
      throw new HttpError(
        403,
        ApiErrorCode.Forbidden,
        `role ${identity.role} may not do this; ${role} or above is required`,
      );
  };
}
