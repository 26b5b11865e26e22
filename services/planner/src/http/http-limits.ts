import type { Server } from 'node:http';
import { httpServerOptionsOf } from '@meshwave/contracts';
import type { FastifyHttpOptions } from 'fastify';
import { PlannerError, PlannerErrorCode } from '../errors.js';

/**
 * How much of the planner one client may hold (ADR 0014). Node's own defaults let a client that sends half a
 * request keep its connection for minutes; these bound every phase of a connection and every client's share.
 */
export interface HttpLimits {
  /** bytes a request body may have (413 beyond) */
  readonly bodyLimitBytes: number;
  /** the request line and headers must arrive within this (a slow sender is answered 408 and closed) */
  readonly headersTimeoutMs: number;
  /** the whole request, body included, must arrive within this; it does not bound the response */
  readonly requestTimeoutMs: number;
  /**
   * A connection on which nothing is read or written for this long is closed. It bounds a stalled response;
   * a live event stream writes a keep-alive comment more often, so it is never idle this long.
   */
  readonly idleTimeoutMs: number;
  /** an idle keep-alive connection between two requests is closed after this */
  readonly keepAliveTimeoutMs: number;
  /** requests per window: per token for a valid bearer token, per client address for everything else */
  readonly rateLimit: { readonly windowMs: number; readonly perToken: number; readonly perAddress: number };
  /** open event streams (`GET /v1/events`) per token (per client address for a caller without one) */
  readonly eventStreamsPerClient: number;
  /** how often an event stream writes a keep-alive comment; shorter than `idleTimeoutMs` */
  readonly eventStreamKeepAliveMs: number;
}

/**
 * Defaults. The timeouts let a slow but honest client on a poor link through (1 MiB in 30 s is 35 KB/s); the
 * keep-alive timeout outlasts the 60 s idle timeout of common proxies, so the proxy, not the planner, closes
 * an idle connection and never sends on one being closed. The rate limits are far above what the dashboard
 * (a few requests a second per tab), the CLI and the demo send, and bound what a runaway script or an
 * anonymous flood costs.
 */
export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  bodyLimitBytes: 1024 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  keepAliveTimeoutMs: 72_000,
  rateLimit: { windowMs: 60_000, perToken: 1200, perAddress: 600 },
  eventStreamsPerClient: 10,
  eventStreamKeepAliveMs: 15_000,
};

export type HttpLimitsOverrides = Partial<Omit<HttpLimits, 'rateLimit'>> & {
  readonly rateLimit?: Partial<HttpLimits['rateLimit']>;
};

/** The defaults with `overrides` applied; refuses limits that would cut a live event stream or never fire. */
export function resolveHttpLimits(overrides: HttpLimitsOverrides = {}): HttpLimits {
  const limits: HttpLimits = {
    ...DEFAULT_HTTP_LIMITS,
    ...overrides,
    rateLimit: { ...DEFAULT_HTTP_LIMITS.rateLimit, ...overrides.rateLimit },
  };
  const invalid = (message: string): never => {
    throw new PlannerError(PlannerErrorCode.InvalidConfig, `HTTP limits: ${message}`);
  };
  for (const [name, value] of [
    ['bodyLimitBytes', limits.bodyLimitBytes],
    ['headersTimeoutMs', limits.headersTimeoutMs],
    ['requestTimeoutMs', limits.requestTimeoutMs],
    ['idleTimeoutMs', limits.idleTimeoutMs],
    ['keepAliveTimeoutMs', limits.keepAliveTimeoutMs],
    ['rateLimit.windowMs', limits.rateLimit.windowMs],
    ['rateLimit.perToken', limits.rateLimit.perToken],
    ['rateLimit.perAddress', limits.rateLimit.perAddress],
    ['eventStreamsPerClient', limits.eventStreamsPerClient],
    ['eventStreamKeepAliveMs', limits.eventStreamKeepAliveMs],
  ] as const)
    if (!Number.isSafeInteger(value) || value < 1) invalid(`${name} must be a positive integer, got ${value}`);
  // Node refuses a headers timeout longer than the request timeout.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs)
    invalid(`headersTimeoutMs (${limits.headersTimeoutMs}) exceeds requestTimeoutMs (${limits.requestTimeoutMs})`);
  if (limits.eventStreamKeepAliveMs >= limits.idleTimeoutMs)
    invalid(
      `eventStreamKeepAliveMs (${limits.eventStreamKeepAliveMs}) must be shorter than idleTimeoutMs (${limits.idleTimeoutMs}), or idle event streams are cut`,
    );
  return limits;
}

/** The fastify (and Node `http.Server`) options that enforce `limits`. */
export function serverOptionsOf(limits: HttpLimits): FastifyHttpOptions<Server> {
  return httpServerOptionsOf(limits);
}
