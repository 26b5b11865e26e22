import { PATH_PARAM_CAP } from './primitives.js';

/** The limits every meshwave HTTP server enforces, the planner's API and the vm-bridge's host API (ADR 0014). */
export interface HttpServerLimits {
  readonly bodyLimitBytes: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

/**
 * The fastify (and Node `http.Server`) options that enforce `limits`, as plain data: each server passes them to
 * fastify, so this library needs no HTTP framework.
 */
export function httpServerOptionsOf(limits: HttpServerLimits) {
  return {
    bodyLimit: limits.bodyLimitBytes,
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    routerOptions: { maxParamLength: PATH_PARAM_CAP },
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Node checks the two timeouts above only this often (default 30 s): check at half the shorter one.
      connectionsCheckingInterval: Math.max(
        10,
        Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 2),
      ),
    },
  };
}
