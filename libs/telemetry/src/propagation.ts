import {
  ROOT_CONTEXT,
  context as contextApi,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Context,
  type SpanContext,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

// The W3C propagator is used directly rather than the global one: messages must carry `traceparent` even in
// a process that never started the SDK (the embedded demo, unit tests), and must never carry vendor formats.
const w3c = new W3CTraceContextPropagator();

/** W3C trace context as it travels in Kafka headers or HTTP headers. */
export interface TraceHeaders {
  traceparent?: string;
  tracestate?: string;
}

/** The `traceparent`/`tracestate` of `ctx` (default: the active context); empty when no valid span is active. */
export function injectTraceContext(ctx: Context = contextApi.active()): TraceHeaders {
  const carrier: Record<string, string> = {};
  w3c.inject(ctx, carrier, defaultTextMapSetter);
  const out: TraceHeaders = {};
  if (carrier.traceparent !== undefined) out.traceparent = carrier.traceparent;
  if (carrier.tracestate !== undefined) out.tracestate = carrier.tracestate;
  return out;
}

/** A context whose remote parent is the span named by `headers`; `base` (default ROOT) when there is none or it is malformed. */
export function extractTraceContext(headers: TraceHeaders | undefined, base: Context = ROOT_CONTEXT): Context {
  if (headers?.traceparent === undefined) return base;
  const carrier: Record<string, string> = { traceparent: headers.traceparent };
  if (headers.tracestate !== undefined) carrier.tracestate = headers.tracestate;
  return w3c.extract(base, carrier, defaultTextMapGetter);
}

/**
 * The parent of a message handler's own span: the active context when it holds a span (the bus's
 * `process <topic>` consumer span the handler runs in), else the context the message carries (a handler called
 * directly).
 */
export function handlerContext(headers: TraceHeaders | undefined): Context {
  const active = contextApi.active();
  return trace.getSpan(active) !== undefined ? active : extractTraceContext(headers);
}

/** The span context a traceparent names, to use as a span link (e.g. a wave's trace linked to the rollout's creation). */
export function spanContextFromTraceparent(traceparent: string | undefined): SpanContext | undefined {
  if (traceparent === undefined) return undefined;
  const sc = trace.getSpanContext(extractTraceContext({ traceparent }));
  return sc !== undefined && trace.isSpanContextValid(sc) ? sc : undefined;
}
