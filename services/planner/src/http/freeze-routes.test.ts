import { createInMemoryBroker, createInMemoryBus } from '@meshwave/bus';
import { createInMemoryStore, type StateStore } from '@meshwave/store';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { newFleetWorkloads, newRolloutYaml } from '../../../../test/integration/planner/scripted-agents.js';
import { createPlanner, type Planner } from '../runtime/planner.js';
import { buildApp } from './app.js';
import { hashTokens } from './auth.js';

const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };
const tokens = hashTokens([
  { name: 'vera', role: 'viewer', token: 'viewer-token' },
  { name: 'olga', role: 'operator', token: 'operator-token' },
  { name: 'ada', role: 'admin', token: 'admin-token' },
]);
const operator = { authorization: 'Bearer operator-token' };
const viewer = { authorization: 'Bearer viewer-token' };

const running: { app: FastifyInstance; planner: Planner }[] = [];
afterEach(async () => {
  for (const { app, planner } of running.splice(0)) {
    await app.close();
    await planner.stop();
  }
});

/** A planner replica over `store` that leads (the one before it stopped) and its API. */
async function newReplica(store: StateStore, instanceId: string): Promise<{ app: FastifyInstance; planner: Planner }> {
  const planner = createPlanner({
    bus: createInMemoryBus({ broker: createInMemoryBroker(), source: 'planner', signing }),
    store,
    config: { instanceId, leaseRenewMs: 50, leaseTtlMs: 5000, timerTickMs: 20 },
  });
  await planner.start();
  for (let i = 0; i < 400 && !planner.isLeader(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(planner.isLeader()).toBe(true);
  const replica = { app: await buildApp({ planner, tokens }), planner };
  running.push(replica);
  return replica;
}

async function stop(replica: { app: FastifyInstance; planner: Planner }): Promise<void> {
  running.splice(running.indexOf(replica), 1);
  await replica.app.close();
  await replica.planner.stop();
}

interface Status {
  phase: string;
  reason?: string;
  freeze?: { frozen: boolean; reason: string; by: string };
}

async function statusOf(replica: { app: FastifyInstance; planner: Planner }, id: string): Promise<Status> {
  await replica.planner.idle();
  return (await replica.app.inject({ method: 'GET', url: `/v1/rollouts/${id}`, headers: viewer })).json<Status>();
}

describe('freeze API', () => {
  it('Given a frozen fleet, When a rollout is created and the leader changes, Then it starts nothing until an operator lifts the freeze; each step audited', async () => {
    const store = createInMemoryStore();
    const first = await newReplica(store, 'p1');
    const put = await first.app.inject({
      method: 'PUT',
      url: '/v1/inventory',
      headers: { authorization: 'Bearer admin-token' },
      payload: { clusters: [{ name: 'prod-1', labels: {}, workloads: newFleetWorkloads(4) }], vmGroups: [] },
    });
    expect(put.statusCode).toBe(204);

    // A viewer may read the freeze but not take it.
    const body = { reason: 'incident 4711' };
    expect(
      (await first.app.inject({ method: 'POST', url: '/v1/freeze', headers: viewer, payload: body })).statusCode,
    ).toBe(403);
    const frozen = await first.app.inject({ method: 'POST', url: '/v1/freeze', headers: operator, payload: body });
    expect(frozen.statusCode).toBe(200);
    expect(frozen.json()).toMatchObject({ frozen: true, reason: 'incident 4711', by: 'olga' });
    const again = await first.app.inject({ method: 'POST', url: '/v1/freeze', headers: operator, payload: body });
    expect(again.statusCode).toBe(409);
    expect(again.json<{ message: string }>().message).toContain('already frozen');
    const noReason = await first.app.inject({ method: 'DELETE', url: '/v1/freeze', headers: operator, payload: {} });
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json<{ details: { path: string }[] }>().details[0]!.path).toBe('body.reason');

    const created = await first.app.inject({
      method: 'POST',
      url: '/v1/rollouts',
      headers: { ...operator, 'content-type': 'application/yaml' },
      payload: newRolloutYaml({ waves: [100] }),
    });
    expect(created.statusCode).toBe(201);
    const id = created.json<{ id: string }>().id;
    expect(await statusOf(first, id)).toMatchObject({
      phase: 'Pending',
      reason: expect.stringContaining('nothing starts until the freeze is lifted'),
      freeze: { frozen: true, reason: 'incident 4711', by: 'olga' },
    });

    // When the leader changes, Then the new one reads the freeze from the store
    await stop(first);
    const second = await newReplica(store, 'p2');
    const read = await second.app.inject({ method: 'GET', url: '/v1/freeze', headers: viewer });
    expect(read.json()).toMatchObject({ frozen: true, reason: 'incident 4711', by: 'olga' });
    expect((await statusOf(second, id)).phase).toBe('Pending');

    const lifted = await second.app.inject({
      method: 'DELETE',
      url: '/v1/freeze',
      headers: operator,
      payload: { reason: 'resolved' },
    });
    expect(lifted.statusCode).toBe(200);
    expect(lifted.json()).toMatchObject({ frozen: false, reason: 'resolved', by: 'olga' });
    const after = await statusOf(second, id);
    expect(after.phase).toBe('Running');
    expect(after.freeze).toBeUndefined();

    const audit = await second.app.inject({ method: 'GET', url: '/v1/audit?scope=fleet', headers: viewer });
    const actions = audit.json<{ entries: { action: string; reason?: string; actor: string }[] }>().entries;
    expect(actions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'freeze', reason: 'incident 4711', actor: 'olga' }),
        expect.objectContaining({ action: 'unfreeze', reason: 'resolved', actor: 'olga' }),
      ]),
    );
  });
});
