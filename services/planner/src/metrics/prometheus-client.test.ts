import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import { createPrometheusClient } from './prometheus-client.js';

/** A Prometheus stand-in that answers every query with `status` and `body`, recording the `timeout` asked. */
async function answering(status: number, body: unknown): Promise<{ url: string; timeouts: string[]; server: Server }> {
  const timeouts: string[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      timeouts.push(new URLSearchParams(text).get('timeout') ?? '');
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, timeouts, server };
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => server?.close(r));
  server = undefined;
});

async function failureOf(p: Promise<unknown>): Promise<PlannerError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PlannerError);
  return err as PlannerError;
}

describe('the Prometheus client on a query Prometheus itself cut off', () => {
  it('Given Prometheus answers 503 errorType "timeout" (its own query timeout), Then the client throws PROMETHEUS_TIMEOUT, not a refused query', async () => {
    const prom = await answering(503, {
      status: 'error',
      errorType: 'timeout',
      error: 'query timed out in expression evaluation',
    });
    server = prom.server;
    const client = createPrometheusClient({ url: prom.url, timeoutMs: 5000 });

    const err = await failureOf(client.query('up'));

    expect(err.code).toBe(PlannerErrorCode.PrometheusTimeout);
    expect(err.retryable).toBe(true);
    expect(prom.timeouts).toEqual(['5s']);
  });

  it('Given Prometheus refuses a query it cannot parse (400 bad_data), Then it stays PROMETHEUS_QUERY_FAILED', async () => {
    const prom = await answering(400, { status: 'error', errorType: 'bad_data', error: 'parse error' });
    server = prom.server;
    const client = createPrometheusClient({ url: prom.url, timeoutMs: 5000 });

    const err = await failureOf(client.query('sum(('));

    expect(err.code).toBe(PlannerErrorCode.PrometheusQueryFailed);
  });
});
