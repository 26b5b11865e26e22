import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context as contextApi,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Attributes,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

// The agent traces through the OpenTelemetry API only: main.ts loads the SDK (and so exports spans) only when
// an exporter is configured (see agent-logger.ts for why). Without the SDK these spans do not record, but the
// trace context still flows: the bridge hands the host the rollout's traceparent with its desired version,
// and the host's reports for it carry that context back, so the bridge's spans stay in the rollout's trace.

const w3c = new W3CTraceContextPropagator();
const tracer = trace.getTracer('meshwave-vm-agent');

/**
 * Runs `fn` in a span that is a child of `traceparent` (the rollout's), ended when it settles; without one
 * (no rollout behind the answer) untraced, rather than a new trace per answer.
 */
export async function inRolloutSpan<T>(
  name: string,
  traceparent: string | undefined,
  attributes: Attributes,
  fn: () => Promise<T>,
): Promise<T> {
  if (traceparent === undefined) return fn();
  const parent = w3c.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter);
  const span = tracer.startSpan(name, { attributes }, parent);
  try {
    return await contextApi.with(trace.setSpan(parent, span), fn);
  } catch (error) {
    span.recordException(error instanceof Error ? error : new Error(String(error)));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    span.end();
  }
}

/**
 * Sends a request to the bridge in an HTTP client span (`{method} {url.template}`) carrying its context as
 * `traceparent` when the agent works for a rollout (a span is active); outside one (heartbeats, polls) plainly.
 */
export async function tracedRequest(
  method: string,
  urlTemplate: string,
  headers: Record<string, string>,
  send: (headers: Record<string, string>) => Promise<Response>,
): Promise<Response> {
  const active = contextApi.active();
  if (trace.getSpan(active) === undefined) return send(headers);
  const span = tracer.startSpan(
    `${method} ${urlTemplate}`,
    { kind: SpanKind.CLIENT, attributes: { 'http.request.method': method, 'url.template': urlTemplate } },
    active,
  );
  const carrier: Record<string, string> = { ...headers };
  w3c.inject(trace.setSpan(active, span), carrier, defaultTextMapSetter);
  try {
    const response = await send(carrier);
    span.setAttribute('http.response.status_code', response.status);
    if (response.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
    return response;
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    span.end();
  }
}
