import type { Server } from 'node:http';
import { LONG_POLL_MAX_SECONDS, httpServerOptionsOf } from '@meshwave/contracts';
import type { FastifyHttpOptions } from 'fastify';
import { z } from 'zod';

/**
 * How long each phase of a host's connection may take and how large a body may be (ADR 0014): the planner's
 * limits, with an idle timeout that outlasts the longest long poll, during which the bridge writes nothing.
 */
export const HostApiLimits = z
  .strictObject({
    /** bytes a request body may have (a report is well under 4 KiB) */
    bodyLimitBytes: z
      .number()
      .int()
      .positive()
      .default(1024 * 1024),
    /** the request line and headers must arrive within this */
    headersTimeoutMs: z.number().int().positive().default(10_000),
    /** the whole request, body included, must arrive within this; it does not bound the (long-poll) answer */
    requestTimeoutMs: z.number().int().positive().default(30_000),
    /** a connection on which nothing is read or written for this long is closed */
    idleTimeoutMs: z
      .number()
      .int()
      .positive()
      .default((LONG_POLL_MAX_SECONDS + 30) * 1000),
    /** an idle keep-alive connection between two requests is closed after this */
    keepAliveTimeoutMs: z.number().int().positive().default(72_000),
  })
  .refine((l) => l.headersTimeoutMs <= l.requestTimeoutMs, {
    path: ['headersTimeoutMs'],
    message: 'at most requestTimeoutMs',
  })
  .refine((l) => l.idleTimeoutMs > LONG_POLL_MAX_SECONDS * 1000, {
    path: ['idleTimeoutMs'],
    message: `longer than the longest long poll (${LONG_POLL_MAX_SECONDS} s), or waiting hosts are cut off`,
  });
export type HostApiLimits = z.infer<typeof HostApiLimits>;

/** The fastify (and Node `http.Server`) options that enforce `limits`. */
export function serverOptionsOf(limits: HostApiLimits): FastifyHttpOptions<Server> {
  return httpServerOptionsOf(limits);
}
