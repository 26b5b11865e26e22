import { createInMemoryBroker, createInMemoryBus } from '@meshwave/bus';
import { MESH_LABEL, MessageType, type MeshSplitCommand } from '@meshwave/contracts';
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
async function newSplitApi(broker = createInMemoryBroker()): Promise<FastifyInstance> {
  const planner = createPlanner({
    bus: createInMemoryBus({ broker, source: 'planner', signing }),
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

describe('applying a split', () => {
  const split = {
    meshes: [
      { mesh: 'mesh-a', revision: 'mesh-a-1-25-2', namespaces: ['team-0', 'team-1'] },
      { mesh: 'mesh-b', revision: 'mesh-b-1-25-2', namespaces: ['team-2', 'team-3', 'team-9'] },
    ],
  };
  const apply = (app: FastifyInstance, body: object) =>
    app.inject({ method: 'POST', url: '/v1/meshes/apply', headers, payload: body });

  it('Given a fleet whose namespaces carry mesh labels, When a split moving team-1 to mesh-b is applied dry, then for real, Then the dry run lists that change only and sends nothing; the apply sends each cluster its command and is audited', async () => {
    const broker = createInMemoryBroker();
    const app = await newSplitApi(broker);
    const sent: MeshSplitCommand[] = [];
    const listener = createInMemoryBus({ broker, source: 'test', signing });
    await listener.subscribe({
      topic: 'commands',
      groupId: 'test',
      fromBeginning: true,
      types: [MessageType.MeshSplit],
      handler: (m) => {
        sent.push(m.data as MeshSplitCommand);
        return Promise.resolve();
      },
    });
    const moved = {
      meshes: [
        { ...split.meshes[0]!, namespaces: ['team-0'] },
        { ...split.meshes[1]!, namespaces: ['team-1', 'team-2', 'team-3'] },
      ],
    };

    const dry = await apply(app, moved);
    expect(dry.statusCode).toBe(200);
    expect(dry.json()).toMatchObject({ dryRun: true });
    for (const c of dry.json<{ clusters: { namespaces: unknown[] }[] }>().clusters)
      expect(c.namespaces).toEqual([{ namespace: 'team-1', from: 'mesh-a', to: 'mesh-b' }]);

    const real = await apply(app, { ...moved, dryRun: false, reason: 'split the fleet' });
    expect(real.statusCode).toBe(200);
    const result = real.json<{ dryRun: boolean; generation: number; clusters: { cluster: string }[] }>();
    expect(result.dryRun).toBe(false);
    await expect.poll(() => sent.length).toBe(2);
    expect(sent.map((c) => c.cluster).sort()).toEqual(['prod-1', 'prod-2']);
    expect(sent[0]).toMatchObject({
      generation: result.generation,
      namespaces: [
        { name: 'team-0', mesh: 'mesh-a' },
        { name: 'team-1', mesh: 'mesh-b' },
        { name: 'team-2', mesh: 'mesh-b' },
        { name: 'team-3', mesh: 'mesh-b' },
      ],
      controlPlanes: [
        { revision: 'mesh-a-1-25-2', mesh: 'mesh-a' },
        { revision: 'mesh-b-1-25-2', mesh: 'mesh-b' },
      ],
    });
    const audit = await app.inject({ method: 'GET', url: '/v1/audit?limit=5', headers });
    expect(JSON.stringify(audit.json())).toContain('apply-mesh-split');
    expect(JSON.stringify(audit.json())).toContain('split the fleet');
  });

  it('Given a split naming one namespace in two meshes, When it is applied, Then 400 names the field', async () => {
    const app = await newSplitApi();
    const twice = { meshes: [split.meshes[0]!, { ...split.meshes[1]!, namespaces: ['team-1'] }] };
    const r = await apply(app, twice);
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({
      details: [{ path: 'body.meshes[1].namespaces[0]', message: expect.stringContaining('in two meshes') }],
    });
  });
});
