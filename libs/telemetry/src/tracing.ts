import {
  SpanStatusCode,
  context as contextApi,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanKind,
  type Tracer,
} from '@opentelemetry/api';
import { NodeSDK, resources } from '@opentelemetry/sdk-node';
import { NoopSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

export interface TelemetryOptions {
  /** `service.name` resource attribute; `OTEL_SERVICE_NAME` wins when set */
  readonly serviceName: string;
  /** export spans here synchronously instead of what the environment says (tests, e2e trace assertions) */
  readonly spanExporter?: SpanExporter;
  /** defaults to `process.env` */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** A started SDK. `shutdown` flushes pending spans. */
export interface Telemetry {
  /** true when spans leave the process (an exporter is configured) */
  readonly exporting: boolean;
  tracer(name?: string): Tracer;
  shutdown(): Promise<void>;
}

function isSet(v: string | undefined): v is string {
  return v !== undefined && v.trim() !== '';
}

/**
 * Starts OpenTelemetry as the environment says: `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`, or
 * `OTEL_TRACES_EXPORTER`) turns on export, `OTEL_SDK_DISABLED=true` turns everything off. Without an
 * exporter a tracer provider is still registered, so spans get real ids and `traceparent` still flows through
 * messages: traces stay joinable once any one process exports.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  const env = options.env ?? process.env;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') {
    return {
      exporting: false,
      tracer: (name) => trace.getTracer(name ?? options.serviceName),
      shutdown: async () => {},
    };
  }
  const envExporter =
    isSet(env.OTEL_EXPORTER_OTLP_ENDPOINT) ||
    isSet(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) ||
    (isSet(env.OTEL_TRACES_EXPORTER) && env.OTEL_TRACES_EXPORTER.trim() !== 'none');
  const spanProcessors = options.spanExporter
    ? [new SimpleSpanProcessor(options.spanExporter)]
    : envExporter
      ? undefined // NodeSDK builds the exporters from the OTEL_* variables
      : [new NoopSpanProcessor()];
  const sdk = new NodeSDK({
    serviceName: isSet(env.OTEL_SERVICE_NAME) ? env.OTEL_SERVICE_NAME : options.serviceName,
    // Only the env detector: host/process detectors are slow and add nothing a collector does not add.
    resourceDetectors: [resources.envDetector],
    ...(spanProcessors ? { spanProcessors } : {}),
    // Logs go through pino and metrics through prom-client; the SDK only handles them when asked explicitly.
    ...(isSet(env.OTEL_LOGS_EXPORTER) ? {} : { logRecordProcessors: [] }),
    ...(isSet(env.OTEL_METRICS_EXPORTER) ? {} : { metricReaders: [] }),
    instrumentations: [],
  });
  sdk.start();
  return {
    exporting: options.spanExporter !== undefined || envExporter,
    tracer: (name) => trace.getTracer(name ?? options.serviceName),
    shutdown: () => sdk.shutdown(),
  };
}

export interface SpanOptions {
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
  readonly links?: Link[];
  /** parent context; default the active one */
  readonly parent?: Context;
  /** start a new trace even if a span is active (links say where it came from) */
  readonly root?: boolean;
}

/** Marks a span as failed by `error` (recorded as an exception event, the status carrying its message). */
export function failSpan(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : new Error(String(error)));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/**
 * Runs `fn` inside a span that ends when `fn` settles; a thrown error is recorded and the span marked as
 * failed, then rethrown. Outcomes that are data (a failed gate) are the caller's to record as attributes.
 */
export async function withSpan<T>(
  tracer: Tracer,
  name: string,
  options: SpanOptions,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? contextApi.active();
  const span = tracer.startSpan(
    name,
    { kind: options.kind, attributes: options.attributes, links: options.links, root: options.root },
    parent,
  );
  try {
    return await contextApi.with(trace.setSpan(parent, span), () => fn(span));
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}
