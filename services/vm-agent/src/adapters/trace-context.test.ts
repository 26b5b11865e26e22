import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { startTelemetry } from '@meshwave/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpBridgeClient } from './bridge-client.js';
import { inRolloutSpan } from './trace-context.js';

const exporter = new InMemorySpanExporter();
const telemetry = startTelemetry({ serviceName: 'vm-agent-test', spanExporter: exporter, env: {} });
const ROLLOUT_TRACE = '0af7651916cd43dd8448eb211c80319c';
const COMMAND_SPAN = 'b7ad6b7169203331';

describe('a host working for a rollout', () => {
  const received: IncomingHttpHeaders[] = [];
  let server: Server;
  let client: HttpBridgeClient;

  beforeAll(async () => {
    server = createServer((req, res) => {
      received.push(req.headers);
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":true}'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    client = new HttpBridgeClient({
      bridgeUrl: `http://127.0.0.1:${port}`,
      host: 'h1',
      group: 'g',
      token: 't',
      tokenSha256: 'x',
    });
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await telemetry.shutdown();
  });

  it("Given the desired version came with the rollout's traceparent, When the host reports, Then the report carries a context of that trace whose parents lead to the command", async () => {
    received.length = 0;
    await inRolloutSpan('converge host', `00-${ROLLOUT_TRACE}-${COMMAND_SPAN}-01`, {}, () =>
      client.report({ runningVersion: 'v2', healthy: true, phase: 'idle', assignment: 1 }),
    );
    const spans = exporter.getFinishedSpans();
    const converge = spans.find((s) => s.name === 'converge host')!;
    const request = spans.find((s) => s.name === 'POST /v1/hosts/{host}/report')!;
    expect(converge.spanContext().traceId).toBe(ROLLOUT_TRACE);
    expect(converge.parentSpanContext?.spanId).toBe(COMMAND_SPAN);
    expect(request.parentSpanContext?.spanId).toBe(converge.spanContext().spanId);
    expect(request.attributes['http.response.status_code']).toBe(200);
    expect(received[0]?.traceparent).toBe(`00-${ROLLOUT_TRACE}-${request.spanContext().spanId}-01`);
  });

  it('Given no rollout behind the work (a heartbeat), When the host reports, Then no trace context is sent and no span made', async () => {
    received.length = 0;
    exporter.reset();
    await inRolloutSpan('converge host', undefined, {}, () =>
      client.report({ runningVersion: 'v1', healthy: true, phase: 'idle' }),
    );
    expect(received[0]?.traceparent).toBeUndefined();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
