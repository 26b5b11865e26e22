import { createInMemoryBroker, createInMemoryBus } from '@meshwave/bus';
import { MESH_LABEL } from '@meshwave/contracts';
import { createInMemoryStore } from '@meshwave/store';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { newFleetWorkloads, newRolloutYaml } from '../../../../test/integration/planner/scripted-agents.js';
import { createPlanner, type Planner } from '../runtime/planner.js';
import { buildApp } from './app.js';
import { hashTokens } from './auth.js';

// Two meshes' rollouts run side by side (issue 21, ADR 0049): admission refuses only units two rollouts share.

const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };
const tokens = hashTokens([{ name: 'ada', role: 'admin', token: 'admin-token' }]);
const headers = { authorization: 'Bearer admin-token' };

const apps: { app: FastifyInstance; planner: Planner }[] = [];
afterEach(async () => {
  for (const { app, planner } of apps.splice(0)) {
    await app.close();
    await planner.stop();
  }
});

/** A leading planner over two clusters whose namespaces team-0 and team-1 are mesh-a's, team-2 and team-3 mesh-b's. */
async function newSplitApi(): Promise<FastifyInstance> {
  const planner = createPlanner({
    bus: createInMemoryBus({ broker: createInMemoryBroker(), source: 'planner', signing }),
    store: createInMemoryStore(),
    config: { instanceId: 'mesh-test', leaseRenewMs: 50, leaseTtlMs: 5000 },
  });
  await planner.start();
  for (let i = 0; i < 400 && !planner.isLeader(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(planner.isLeader()).toBe(true);
  const app = await buildApp({ planner, tokens });
  apps.push({ app, planner });
  const namespaces = [0, 1, 2, 3].map((i) => ({
    name: `team-${i}`,
    labels: { [MESH_LABEL]: i < 2 ? 'mesh-a' : 'mesh-b' },
  }));
  const inventory = {
    clusters: ['prod-1', 'prod-2'].map((name) => ({ name, labels: {}, namespaces, workloads: newFleetWorkloads(8) })),
    vmGroups: [],
  };
  const put = await app.inject({ method: 'PUT', url: '/v1/inventory', headers, payload: inventory });
  expect(put.statusCode).toBe(204);
  return app;
}

/** A rollout of `mesh` (or of the whole fleet), from 1-24-5 to `to`. */
const meshRollout = (name: string, to: string, mesh?: string): string =>
  newRolloutYaml({ name, waves: [100] })
    .replace('  to: 1-25-2', `  to: ${to}`)
    .replace('  waves:\n', `${mesh === undefined ? '' : `  mesh: ${mesh}\n`}  waves:\n`);

const create = (app: FastifyInstance, yaml: string) =>
  app.inject({
    method: 'POST',
    url: '/v1/rollouts',
    headers: { ...headers, 'content-type': 'application/yaml' },
    payload: yaml,
  });

describe('rollouts of two meshes', () => {
  it('Given a fleet split into mesh-a and mesh-b, When each mesh gets a rollout to its own revision, Then both are admitted, each with its own units, and a rollout of the whole fleet is refused as overlapping both', async () => {
    const app = await newSplitApi();

    const a = await create(app, meshRollout('upgrade-a', 'mesh-a-1-25-2', 'mesh-a'));
    const b = await create(app, meshRollout('upgrade-b', 'mesh-b-1-26-0', 'mesh-b'));
    const whole = await create(app, meshRollout('upgrade-all', '1-25-2'));

    expect([a.statusCode, b.statusCode]).toEqual([201, 201]);
    const unitsOf = async (id: string): Promise<string[]> => {
      // one wave of 100%: its first page holds every unit of these small plans
      const url = `/v1/rollouts/${encodeURIComponent(id)}/plan/waves/0`;
      const r = await app.inject({ method: 'GET', url, headers });
      expect(r.statusCode).toBe(200);
      return r.json<{ units: string[] }>().units;
    };
    const unitsA = await unitsOf(a.json<{ id: string }>().id);
    const unitsB = await unitsOf(b.json<{ id: string }>().id);
    expect(unitsA).toHaveLength(8);
    expect(unitsB).toHaveLength(8);
    expect(unitsA.every((u) => /\/team-[01]\//.test(u))).toBe(true);
    expect(unitsB.every((u) => /\/team-[23]\//.test(u))).toBe(true);
    expect(whole.statusCode).toBe(409);
    const refusal = whole.json<{ code: string; message: string }>();
    expect(refusal.code).toBe('CONFLICT');
    expect(refusal.message).toContain(a.json<{ id: string }>().id);
    expect(refusal.message).toContain(b.json<{ id: string }>().id);
  });
});
