import net from 'node:net';
import { LONG_POLL_MAX_SECONDS } from '@meshwave/contracts';
import { createInMemoryStore } from '@meshwave/store';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, type BuildAppOptions } from './app.js';
import { staticBundleCatalog } from '../adapters/bundle-catalog.js';
import { hashToken } from '../runtime/host-token.js';
import { HostApiLimits } from './http-limits.js';
import { VmBridge } from '../runtime/vm-bridge.js';

const ENROLL = 'enroll-secret-for-tests';
const running: { app: FastifyInstance; bridge: VmBridge }[] = [];

async function newHostApi(limits?: BuildAppOptions['limits']): Promise<FastifyInstance> {
  const bridge = new VmBridge({
    store: createInMemoryStore(),
    catalog: staticBundleCatalog({}),
    groups: [{ name: 'web', enrollmentTokenSha256: hashToken(ENROLL) }],
    settings: { tickMs: 20, leaseTtlMs: 2000 },
  });
  await bridge.start();
  const app = await buildApp({ bridge, ...(limits !== undefined ? { limits } : {}) });
  running.push({ app, bridge });
  return app;
}

afterEach(async () => {
  for (const { app, bridge } of running.splice(0)) {
    await app.close();
    await bridge.stop();
  }
});

/** Connects a raw socket, writes `text`, and resolves with what the server sent once it closed the connection. */
function sendAndAwaitClose(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
  });
}

describe('host API limits', () => {
  it('Given a host name over 100 characters, When a route takes it, Then its schema decides: a valid one reaches the route, an overlong one gets 400 naming the parameter', async () => {
    const app = await newHostApi();
    const long = `h${'a'.repeat(149)}`;
    const valid = await app.inject({
      method: 'GET',
      url: `/v1/hosts/${long}/desired`,
      headers: { authorization: 'Bearer x' },
    });
    expect(valid.statusCode).toBe(401);
    const overlong = await app.inject({
      method: 'GET',
      url: `/v1/hosts/h${'a'.repeat(253)}/desired`,
      headers: { authorization: 'Bearer x' },
    });
    expect(overlong.statusCode).toBe(400);
    expect(overlong.json()).toMatchObject({ code: 'INVALID_REQUEST', path: 'params.host' });
  });

  it('Given a body limit, When a host sends a larger report, Then it gets 413 in the error shape', async () => {
    const app = await newHostApi({ bodyLimitBytes: 1024 });
    const res = await app.inject({
      method: 'POST',
      url: '/v1/hosts/h1/report',
      headers: { authorization: 'Bearer x' },
      payload: { runningVersion: null, healthy: true, lastError: 'x'.repeat(2000) },
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: 'FST_ERR_CTP_BODY_TOO_LARGE', message: expect.any(String) });
  });

  it('Given short header and request timeouts, When a client sends half a request and stalls, Then the bridge answers 408 and closes the connection', async () => {
    const app = await newHostApi({ headersTimeoutMs: 100, requestTimeoutMs: 200 });
    const port = Number(new URL(await app.listen({ port: 0, host: '127.0.0.1' })).port);
    expect(await sendAndAwaitClose(port, 'GET /healthz HTTP/1.1\r\nHost: bridge\r\n')).toMatch(/^HTTP\/1\.1 408/);
    const halfBody = await sendAndAwaitClose(
      port,
      'POST /v1/hosts/h1/report HTTP/1.1\r\nHost: bridge\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{',
    );
    expect(halfBody).toMatch(/^HTTP\/1\.1 408/);
  });

  it('refuses an idle timeout that would cut a long poll, and a headers timeout over the request timeout', () => {
    const short = HostApiLimits.safeParse({ idleTimeoutMs: LONG_POLL_MAX_SECONDS * 1000 });
    expect(short.success).toBe(false);
    expect(short.error?.issues.map((i) => i.path.join('.'))).toContain('idleTimeoutMs');
    expect(HostApiLimits.safeParse({ headersTimeoutMs: 40_000 }).success).toBe(false);
    expect(HostApiLimits.parse({}).idleTimeoutMs).toBeGreaterThan(LONG_POLL_MAX_SECONDS * 1000);
  });
});
