import { ApiErrorCode, ApiRole, RolloutId, type RolloutEvent } from '@meshwave/contracts';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Planner } from '../runtime/planner.js';
import { HttpError } from './http-errors.js';
import { rateLimitKeyOf } from './rate-limits.js';
import { QUERY_TOKEN_PARAM, requireRole } from './request-auth.js';

/**
 * Counts open streams per key and refuses one more than `max` for any of a request's keys. Pure bookkeeping:
 * the caller releases what it took when the stream closes.
 */
export class StreamSlots {
  private readonly open = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Takes a slot under every key, or none when one of them is full; the returned function gives them back. */
  take(keys: readonly string[]): (() => void) | undefined {
    if (keys.some((k) => (this.open.get(k) ?? 0) >= this.max)) return undefined;
    for (const k of keys) this.open.set(k, (this.open.get(k) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const k of keys) {
        const left = (this.open.get(k) ?? 1) - 1;
        if (left <= 0) this.open.delete(k);
        else this.open.set(k, left);
      }
    };
  }
}

export interface EventStreamOptions {
  readonly planner: Planner;
  /** open streams per token (per client address for a caller without one) */
  readonly streamsPerClient: number;
  readonly keepAliveMs: number;
}

/**
 * `GET /v1/events`: server-sent events, long-lived. The request timeouts bound only how long the request takes
 * to arrive; the keep-alive comment, written more often than the idle timeout, keeps a quiet stream open.
 * Streams are bounded per token (per address for a caller without one): one more is a 429.
 */
export function registerEventStream(app: FastifyInstance, options: EventStreamOptions): void {
  const slots = new StreamSlots(options.streamsPerClient);
  // Streams never end on their own: on close, cut them (EventSource reconnects, to another replica), or the
  // server would wait for every client to leave, even one that stopped reading.
  const streams = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of streams) res.destroy();
  });
  // Counted as the rate limits count: by token when the caller has one (always, past requireRole), so users
  // behind one ingress address do not share a bound; by address otherwise.
  const keysOf = (request: FastifyRequest): string[] => [rateLimitKeyOf(request)];
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/events',
    {
      schema: {
        summary: 'Server-sent events: transitions, verdicts, progress, actions',
        description: `EventSource cannot send headers: this route alone also takes the token as ?${QUERY_TOKEN_PARAM}=.`,
        tags: ['rollouts'],
        querystring: z.object({ rollout: RolloutId.optional(), [QUERY_TOKEN_PARAM]: z.string().optional() }),
      },
      config: { queryToken: true },
      onRequest: requireRole(ApiRole.Viewer),
    },
    (request, reply) => {
      const release = slots.take(keysOf(request));
      if (release === undefined) {
        void reply.header('retry-after', Math.ceil(options.keepAliveMs / 1000));
        throw new HttpError(
          429,
          ApiErrorCode.RateLimited,
          `at most ${options.streamsPerClient} open event streams per token`,
        );
      }
      const only = request.query.rollout;
      reply.hijack();
      const res = reply.raw;
      streams.add(res);
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
      const unsubscribe = options.planner.onEvent(send);
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), options.keepAliveMs);
      // the response never ends on its own: it closes when the client goes or the server closes the connection
      res.on('close', () => {
        clearInterval(keepAlive);
        unsubscribe();
        release();
        streams.delete(res);
      });
    },
  );
}
