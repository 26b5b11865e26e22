import { createServer } from 'node:net';
import { createInMemoryBroker, createInMemoryBus } from '@meshwave/bus';
import { createInMemoryStore } from '@meshwave/store';
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { newFleetWorkloads, newRolloutYaml } from '../../../../test/integration/planner/scripted-agents.js';
import { createPlanner, type Planner } from '../runtime/planner.js';
import { buildApp } from './app.js';
import { hashTokens } from './auth.js';

const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };
const tokens = hashTokens([{ name: 'olga', role: 'admin', token: 'admin-token' }]);
const auth = (): Record<string, string> => ({ authorization: 'Bearer admin-token' });

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const started: { planner: Planner; app: FastifyInstance }[] = [];
afterAll(async () => {
  for (const s of started) {
    await s.app.close();
    await s.planner.stop();
  }
});

describe('follower forwarding', () => {
  it('Given two replicas behind one address, When a mutation reaches the follower, Then the leader performs it and the follower answers with its result', async () => {
    const broker = createInMemoryBroker();
    const store = createInMemoryStore();
    for (const name of ['one', 'two']) {
      const port = await freePort();
      const planner = createPlanner({
        bus: createInMemoryBus({ broker, source: name, signing }),
        store,
        config: { instanceId: name, advertiseUrl: `http://127.0.0.1:${port}`, leaseRenewMs: 50, leaseTtlMs: 5000 },
      });
      const app = await buildApp({ planner, tokens });
      await app.listen({ host: '127.0.0.1', port });
      await planner.start();
      started.push({ planner, app });
    }
    for (let i = 0; i < 200 && !started.some((s) => s.planner.isLeader()); i++)
      await new Promise((r) => setTimeout(r, 10));
    const follower = started.find((s) => !s.planner.isLeader())!;
    const leader = started.find((s) => s.planner.isLeader())!;
    const put = await follower.app.inject({
      method: 'PUT',
      url: '/v1/inventory',
      headers: auth(),
      payload: { clusters: [{ name: 'c1', workloads: newFleetWorkloads(4) }] },
    });
    expect(put.statusCode).toBe(204);
    const created = await follower.app.inject({
      method: 'POST',
      url: '/v1/rollouts',
      headers: { ...auth(), 'content-type': 'application/yaml' },
      payload: newRolloutYaml({ name: 'forwarded' }),
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    const seen = await leader.app.inject({ method: 'GET', url: `/v1/rollouts/${id}`, headers: auth() });
    expect(seen.statusCode).toBe(200);
    const pause = await follower.app.inject({
      method: 'POST',
      url: `/v1/rollouts/${id}/pause`,
      headers: auth(),
      payload: { reason: 'forwarded pause' },
    });
    expect(pause.json()).toMatchObject({ phase: 'Paused' });
    const again = await follower.app.inject({ method: 'POST', url: `/v1/rollouts/${id}/pause`, headers: auth() });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('ACTION_NOT_APPLICABLE');
  }, 30_000);
});
