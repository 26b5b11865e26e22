// Jaeger's stored spans as an independent observer: what the processes exported, read back through the query
// API (`GET /api/v3/traces/{id}`, OTLP JSON), and the environment that makes a spawned service export there.
import type { JaegerEnv } from './env.ts';

/** One stored span, flattened: the service that exported it and its place in the trace. */
export interface StoredSpan {
  readonly service: string;
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  /** absent for the trace's root */
  readonly parentSpanId?: string;
  readonly kind: string;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

/**
 * The standard OpenTelemetry variables that make a meshwave service export its spans to the test Jaeger over
 * OTLP/HTTP, as a user points them at a collector (README, "Traces"); batches go out every 200 ms.
 */
export function otelExportEnv(jaeger: JaegerEnv, serviceName?: string): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpEndpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_BSP_SCHEDULE_DELAY: '200',
    ...(serviceName !== undefined ? { OTEL_SERVICE_NAME: serviceName } : {}),
  };
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number | string;
  attributes?: { key: string; value: OtlpValue }[];
}
interface OtlpTraces {
  result?: {
    resourceSpans?: {
      resource?: { attributes?: { key: string; value: OtlpValue }[] };
      scopeSpans?: { spans?: OtlpSpan[] }[];
    }[];
  };
}

function valueOf(v: OtlpValue): string | number | boolean {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.boolValue !== undefined) return v.boolValue;
  return v.doubleValue ?? '';
}

/** OTLP JSON carries ids as hex (the spec) or base64 (protobuf's JSON mapping); both become hex here. */
function hexId(id: string | undefined): string | undefined {
  if (id === undefined || id === '') return undefined;
  return /^[0-9a-f]+$/.test(id) && (id.length === 16 || id.length === 32)
    ? id
    : Buffer.from(id, 'base64').toString('hex');
}

/** Every span Jaeger holds for `traceId` (empty when it holds none). */
export async function storedTrace(jaeger: JaegerEnv, traceId: string): Promise<StoredSpan[]> {
  const res = await fetch(`${jaeger.url}/api/v3/traces/${traceId}`, { signal: AbortSignal.timeout(10_000) });
  if (res.status === 404) return [];
  if (!res.ok) throw new Error(`jaeger ${jaeger.url}: GET /api/v3/traces/${traceId} answered ${res.status}`);
  const body = (await res.json()) as OtlpTraces;
  const spans: StoredSpan[] = [];
  for (const rs of body.result?.resourceSpans ?? []) {
    const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
    for (const ss of rs.scopeSpans ?? [])
      for (const s of ss.spans ?? []) {
        const parentSpanId = hexId(s.parentSpanId);
        spans.push({
          service,
          name: s.name,
          traceId: hexId(s.traceId) ?? '',
          spanId: hexId(s.spanId) ?? '',
          ...(parentSpanId !== undefined ? { parentSpanId } : {}),
          kind: String(s.kind ?? ''),
          attributes: Object.fromEntries((s.attributes ?? []).map((a) => [a.key, valueOf(a.value)])),
        });
      }
  }
  return spans;
}

/** Spans whose parent is not in the trace (a broken link), the root excepted. */
export function orphanSpans(spans: readonly StoredSpan[]): StoredSpan[] {
  const ids = new Set(spans.map((s) => s.spanId));
  return spans.filter((s) => s.parentSpanId !== undefined && !ids.has(s.parentSpanId));
}
