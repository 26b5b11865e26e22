import type { FastifyRequest } from 'fastify';
import { SpanKind, type Tracer } from '@opentelemetry/api';
import { extractTraceContext, withSpan } from '@meshwave/telemetry';

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Runs a request's work inside an HTTP server span (named `{method} {route}` as OpenTelemetry's HTTP
 * conventions say) when the caller sent a W3C trace context: a host working for a rollout, whose report then
 * joins the rollout's trace. Requests without one (a host's periodic heartbeat) are not traced: a new trace per
 * heartbeat would bury the rollouts' traces in a collector.
 */
export async function inRequestSpan<T>(tracer: Tracer, request: FastifyRequest, fn: () => Promise<T>): Promise<T> {
  const traceparent = headerOf(request, 'traceparent');
  if (traceparent === undefined) return fn();
  const tracestate = headerOf(request, 'tracestate');
  const route = request.routeOptions.url ?? request.url.split('?')[0] ?? request.url;
  return withSpan(
    tracer,
    `${request.method} ${route}`,
    {
      kind: SpanKind.SERVER,
      parent: extractTraceContext({ traceparent, ...(tracestate !== undefined ? { tracestate } : {}) }),
      attributes: {
        'http.request.method': request.method,
        'http.route': route,
        'url.path': request.url.split('?')[0] ?? request.url,
      },
    },
    async (span) => {
      const result = await fn();
      span.setAttribute('http.response.status_code', 200);
      return result;
    },
  );
}
