import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PlannerClient, PlannerClientError } from '../adapters/planner-client.js';
import { droppedCause, retryDropped } from './dropped-requests.js';

/** A planner stand-in that closes the connection of its first `drops` requests unanswered, then answers `{}`. */
async function dropping(drops: number): Promise<{ url: string; server: Server; seen: () => number }> {
  let seen = 0;
  const server = createServer((req, res) => {
    seen++;
    if (seen <= drops) req.socket.destroy();
    else res.writeHead(200, { 'content-type': 'application/json' }).end('{"clusters":[]}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, seen: () => seen };
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

describe('requests the planner dropped', () => {
  it('Given a planner that closes the first two connections unanswered, When a read is sent with retryDropped, Then it is sent again, said each time, and answered', async () => {
    const planner = await dropping(2);
    server = planner.server;
    const client = new PlannerClient(planner.url, 't');
    const said: string[] = [];

    const fleet = await retryDropped('GET /v1/fleet', () => client.fleet(), {
      say: (t) => said.push(t),
      baseDelayMs: 1,
    });

    expect(fleet).toEqual({ clusters: [] });
    expect(planner.seen()).toBe(3);
    expect(said).toHaveLength(2);
    expect(said[0]).toMatch(/dropped GET \/v1\/fleet \((UND_ERR_SOCKET|ECONNRESET)\)/);
  });

  it('Given a planner that drops every request, Then the read is sent a bounded number of times and the last drop is thrown', async () => {
    const planner = await dropping(Number.MAX_SAFE_INTEGER);
    server = planner.server;
    const client = new PlannerClient(planner.url, 't');

    const err = await retryDropped('GET /v1/fleet', () => client.fleet(), {
      say: () => undefined,
      attempts: 3,
      baseDelayMs: 1,
    }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PlannerClientError);
    expect(droppedCause(err)).toBeDefined();
    expect(planner.seen()).toBe(3);
  });

  it('Given no planner listening (refused), Then the request is not sent again', async () => {
    const planner = await dropping(0);
    const url = planner.url;
    await new Promise((r) => planner.server.close(r));
    const client = new PlannerClient(url, 't');
    let sends = 0;

    const err = await retryDropped(
      'GET /v1/fleet',
      () => {
        sends++;
        return client.fleet();
      },
      { say: () => undefined, baseDelayMs: 1 },
    ).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PlannerClientError);
    expect(droppedCause(err)).toBeUndefined();
    expect(sends).toBe(1);
  });
});
