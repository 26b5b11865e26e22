import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { bearer, newPlannerApi, type PlannerApi } from '../../../../test/support/planner-api.js';
import { resolveHttpLimits } from './http-limits.js';

const open: PlannerApi[] = [];
async function start(...args: Parameters<typeof newPlannerApi>): Promise<PlannerApi> {
  const api = await newPlannerApi(...args);
  open.push(api);
  return api;
}

afterEach(async () => {
  for (const api of open.splice(0)) await api.close();
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

function portOf(address: string): number {
  return Number(new URL(address).port);
}

describe('rate limits', () => {
  it('Given a per-token and a per-address budget, When a client spends it, Then it gets 429 with Retry-After in the error shape, and other clients are not affected', async () => {
    const api = await start({ limits: { rateLimit: { perToken: 3, perAddress: 2, windowMs: 60_000 } } });
    for (let i = 0; i < 3; i++)
      expect(
        (await api.app.inject({ method: 'GET', url: '/v1/fleet', headers: bearer('viewer-token') })).statusCode,
      ).toBe(200);
    const limited = await api.app.inject({ method: 'GET', url: '/v1/fleet', headers: bearer('viewer-token') });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json()).toEqual({ code: 'RATE_LIMITED', message: expect.stringContaining('token'), details: [] });
    // another token from the same address has its own budget
    expect(
      (await api.app.inject({ method: 'GET', url: '/v1/fleet', headers: bearer('operator-token') })).statusCode,
    ).toBe(200);
    // without a valid token, the address's budget is spent: anonymous calls and wrong tokens alike
    expect((await api.app.inject({ method: 'GET', url: '/v1/fleet' })).statusCode).toBe(401);
    expect((await api.app.inject({ method: 'GET', url: '/v1/fleet', headers: bearer('guess') })).statusCode).toBe(401);
    const anonymous = await api.app.inject({ method: 'GET', url: '/v1/fleet', headers: bearer('another-guess') });
    expect(anonymous.statusCode).toBe(429);
    expect(anonymous.headers['retry-after']).toBeDefined();
    expect(anonymous.json().code).toBe('RATE_LIMITED');
  });

  it('Given an address that spent its budget, When the kubelet probes from that address and Prometheus scrapes, Then liveness, readiness and metrics still answer', async () => {
    const api = await start({ limits: { rateLimit: { perToken: 3, perAddress: 2, windowMs: 60_000 } } });
    for (let i = 0; i < 3; i++) await api.app.inject({ method: 'GET', url: '/v1/fleet' });
    expect((await api.app.inject({ method: 'GET', url: '/v1/fleet' })).statusCode).toBe(429);
    for (const url of ['/healthz', '/readyz', '/metrics'])
      expect((await api.app.inject({ method: 'GET', url })).statusCode, url).not.toBe(429);
  });

  it('Given the default limits, When a client polls as the demo and the dashboard do, Then it is never limited', async () => {
    const api = await start();
    for (let i = 0; i < 300; i++) {
      const res = await api.app.inject({ method: 'GET', url: '/v1/rollouts', headers: bearer('viewer-token') });
      expect(res.statusCode).toBe(200);
    }
    for (let i = 0; i < 100; i++)
      expect((await api.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });
});

describe('event streams', () => {
  it('Given a bound of two open streams per token and address, When a third opens, Then it gets 429 with Retry-After, and once one closes a new one is accepted', async () => {
    // (a short idle timeout: the client may open a spare connection that sends nothing, which closing waits for)
    const api = await start({ limits: { eventStreamsPerClient: 2, idleTimeoutMs: 300, eventStreamKeepAliveMs: 100 } });
    const url = `${await api.app.listen({ port: 0, host: '127.0.0.1' })}/v1/events?access_token=viewer-token`;
    const first = new AbortController();
    const streams = [await fetch(url, { signal: first.signal }), await fetch(url)];
    expect(streams.map((s) => s.status)).toEqual([200, 200]);
    const third = await fetch(url);
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await third.json()).toMatchObject({ code: 'RATE_LIMITED' });

    first.abort();
    let next = await fetch(url);
    // the server learns of the closed stream asynchronously: wait until its slot is free (it stays free)
    for (let i = 0; i < 200 && next.status === 429; i++) {
      await new Promise((r) => setTimeout(r, 20));
      next = await fetch(url);
    }
    expect(next.status).toBe(200);
    await next.body?.cancel();
    await streams[1]!.body?.cancel();
  });

  it('Given an open event stream, When the server closes, Then it ends the stream instead of waiting for the client', async () => {
    const api = await newPlannerApi();
    const res = await fetch(`${await api.app.listen({ port: 0, host: '127.0.0.1' })}/v1/events`, {
      headers: bearer('viewer-token'),
    });
    const reader = res.body!.getReader();
    await reader.read();
    await api.close();
    await expect(reader.read().then((r) => r.done)).rejects.toThrow();
  });

  it('Given request and idle timeouts shorter than the stream lives, When the stream is quiet, Then its keep-alive comments keep it open past both', async () => {
    const api = await start({
      limits: { headersTimeoutMs: 100, requestTimeoutMs: 150, idleTimeoutMs: 300, eventStreamKeepAliveMs: 50 },
    });
    const address = await api.app.listen({ port: 0, host: '127.0.0.1' });
    const res = await fetch(`${address}/v1/events`, { headers: bearer('viewer-token') });
    const reader = res.body!.getReader();
    let text = '';
    // 20 keep-alives take 1 s: many times the request timeout, the connection checks and the idle timeout
    while ((text.match(/: keep-alive/g) ?? []).length < 20) {
      const chunk = await reader.read();
      expect(chunk.done, 'the stream was closed').toBe(false);
      text += new TextDecoder().decode(chunk.value);
    }
    await reader.cancel();
  });
});

describe('timeouts', () => {
  it('Given short header and request timeouts, When a client sends half its headers or half its body and stalls, Then the server answers 408 and closes the connection', async () => {
    const api = await start({ limits: { headersTimeoutMs: 100, requestTimeoutMs: 200 } });
    const port = portOf(await api.app.listen({ port: 0, host: '127.0.0.1' }));
    const halfHeaders = await sendAndAwaitClose(port, 'GET /v1/fleet HTTP/1.1\r\nHost: planner\r\nX-Slow: 1');
    expect(halfHeaders).toMatch(/^HTTP\/1\.1 408/);
    const halfBody = await sendAndAwaitClose(
      port,
      'POST /v1/plans HTTP/1.1\r\nHost: planner\r\nAuthorization: Bearer viewer-token\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"spec":',
    );
    expect(halfBody).toMatch(/^HTTP\/1\.1 408/);
  });

  it('Given a short idle timeout, When a client connects and sends nothing, Then the server closes the connection', async () => {
    const api = await start({ limits: { idleTimeoutMs: 200, eventStreamKeepAliveMs: 100 } });
    const port = portOf(await api.app.listen({ port: 0, host: '127.0.0.1' }));
    expect(await sendAndAwaitClose(port, '')).toBe('');
  });

  it('Given a short keep-alive timeout, When a client goes quiet after its response, Then the server closes the connection', async () => {
    const api = await start({ limits: { keepAliveTimeoutMs: 100 } });
    const port = portOf(await api.app.listen({ port: 0, host: '127.0.0.1' }));
    const received = await sendAndAwaitClose(port, 'GET /healthz HTTP/1.1\r\nHost: planner\r\n\r\n');
    expect(received).toMatch(/^HTTP\/1\.1 200/);
  });

  it('refuses limits that would cut live event streams or that Node refuses', () => {
    expect(() => resolveHttpLimits({ idleTimeoutMs: 10_000, eventStreamKeepAliveMs: 10_000 })).toThrow(
      /eventStreamKeepAliveMs/,
    );
    expect(() => resolveHttpLimits({ headersTimeoutMs: 5_000, requestTimeoutMs: 1_000 })).toThrow(/headersTimeoutMs/);
    expect(() => resolveHttpLimits({ rateLimit: { perToken: 0 } })).toThrow(/perToken/);
    expect(resolveHttpLimits({ rateLimit: { perToken: 5 } }).rateLimit).toEqual({
      windowMs: 60_000,
      perToken: 5,
      perAddress: 600,
    });
  });
});
