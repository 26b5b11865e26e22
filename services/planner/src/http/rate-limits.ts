import rateLimit from '@fastify/rate-limit';
import { ApiErrorCode } from '@meshwave/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './http-errors.js';
import type { HttpLimits } from './http-limits.js';

/**
 * Whose budget a request spends: a valid token's (its name: one budget however many addresses use it), else
 * the client address's. An unknown token spends the address's budget, so guessing tokens is rate limited too
 * and cannot open a fresh budget per guess.
 */
export function rateLimitKeyOf(request: FastifyRequest): string {
  return request.identity !== undefined ? `token:${request.identity.name}` : `address:${request.ip}`;
}

/** Probes and the metrics scrape: never rate limited (they are cheap and answer without a token). */
export const OPERATIONS_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Rate limits on every route but the operations ones (unknown routes too), before authorization and body parsing: 429 with
 * `Retry-After` (seconds) and the `{ code, message, details }` error body. Counted in this replica's memory,
 * so behind N replicas a client may send up to N times the limit (ADR 0014). `identify` must have run first.
 */
export async function registerRateLimits(app: FastifyInstance, limits: HttpLimits['rateLimit']): Promise<void> {
  await app.register(rateLimit, {
    // applied below as an app-wide hook, so that it runs after `identify` and before every route's own hooks
    global: false,
    timeWindow: limits.windowMs,
    keyGenerator: rateLimitKeyOf,
    // The kubelet probes from the node's address, which a NodePort or LoadBalancer also gives outside clients:
    // a flood spending that address's budget must not fail the probes and restart the planner.
    allowList: (request) => OPERATIONS_ROUTES.has(request.routeOptions.url ?? ''),
    max: (_request, key) => (key.startsWith('token:') ? limits.perToken : limits.perAddress),
    errorResponseBuilder: (request, context) =>
      new HttpError(
        429,
        ApiErrorCode.RateLimited,
        `more than ${context.max} requests in ${limits.windowMs / 1000} s for this ${request.identity !== undefined ? 'token' : 'address'}; retry in ${context.after}`,
      ),
  });
  app.addHook('onRequest', app.rateLimit());
}
