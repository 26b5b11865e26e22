import { Writable } from 'node:stream';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { MeshwaveAttribute, rolloutAttributes } from './attributes.js';
import { createLogger, withRolloutIds } from './logger.js';
import { extractTraceContext, handlerContext, injectTraceContext, spanContextFromTraceparent } from './propagation.js';
import { startTelemetry, withSpan } from './tracing.js';

const exporter = new InMemorySpanExporter();
const telemetry = startTelemetry({ serviceName: 'telemetry-test', spanExporter: exporter, env: {} });
afterAll(() => telemetry.shutdown());

function newLineCollector(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('propagation', () => {
  it('carries a span across a message boundary as traceparent, and the consumer span joins its trace', async () => {
    const tracer = telemetry.tracer();
    let headers: { traceparent?: string } = {};
    await withSpan(
      tracer,
      'publish meshwave.commands',
      { attributes: rolloutAttributes({ rolloutId: 'r1', wave: 2 }) },
      async () => {
        headers = injectTraceContext();
      },
    );
    expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await withSpan(tracer, 'process meshwave.commands', { parent: extractTraceContext(headers) }, async () => {});
    const [producer, consumer] = exporter.getFinishedSpans().slice(-2);
    expect(consumer?.spanContext().traceId).toBe(producer?.spanContext().traceId);
    expect(consumer?.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
    expect(producer?.attributes[MeshwaveAttribute.RolloutId]).toBe('r1');
    expect(producer?.attributes[MeshwaveAttribute.Wave]).toBe(2);
  });

  it("puts a handler's span under the consumer span it runs in, or under the message's context when called directly", async () => {
    const tracer = telemetry.tracer();
    const headers = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    await withSpan(tracer, 'process t', { parent: extractTraceContext(headers) }, async () => {
      await withSpan(tracer, 'apply command', { parent: handlerContext(headers) }, async () => {});
    });
    const [inner, consumer] = exporter.getFinishedSpans().slice(-2);
    expect(inner?.parentSpanContext?.spanId).toBe(consumer?.spanContext().spanId);
    await withSpan(tracer, 'apply command', { parent: handlerContext(headers) }, async () => {});
    expect(exporter.getFinishedSpans().at(-1)?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
  });

  it('ignores a malformed traceparent', () => {
    expect(trace.getSpanContext(extractTraceContext({ traceparent: 'garbage' }))).toBeUndefined();
    expect(spanContextFromTraceparent('00-zz-zz-01')).toBeUndefined();
    expect(injectTraceContext(extractTraceContext(undefined))).toEqual({});
  });

  it('records a thrown error on the span and rethrows it', async () => {
    await expect(
      withSpan(telemetry.tracer(), 'failing step', {}, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const span = exporter.getFinishedSpans().at(-1);
    expect(span?.name).toBe('failing step');
    expect(span?.status.code).toBe(2);
    expect(span?.events.some((e) => e.name === 'exception')).toBe(true);
  });
});

describe('logger', () => {
  it('writes JSON lines with service, rollout ids and the active trace id', async () => {
    const out = newLineCollector();
    const logger = withRolloutIds(createLogger({ service: 'planner', level: 'info', destination: out.stream }), {
      rolloutId: 'r1',
      wave: 0,
      cluster: 'prod-1',
    });
    let traceId = '';
    await withSpan(telemetry.tracer(), 'step', {}, async (span) => {
      traceId = span.spanContext().traceId;
      logger.info({ units: 3 }, 'dispatched');
    });
    logger.debug('not written at info');
    const lines = out.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      service: 'planner',
      rolloutId: 'r1',
      wave: 0,
      cluster: 'prod-1',
      units: 3,
      level: 'info',
      msg: 'dispatched',
      trace_id: traceId,
    });
  });
});
