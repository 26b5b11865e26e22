import { createInMemoryBroker, createInMemoryBus } from '@meshwave/bus';
import { createInMemoryStore } from '@meshwave/store';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newFleetWorkloads, newRolloutYaml } from '../../../../test/integration/planner/scripted-agents.js';
import { createPlanner, type Planner } from '../runtime/planner.js';
import { buildApp } from './app.js';
import { hashTokens } from './auth.js';

const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };
const tokens = hashTokens([{ name: 'ada', role: 'admin', token: 'admin-token' }]);
const headers = { authorization: 'Bearer admin-token', 'content-type': 'application/yaml' };

let planner: Planner;
let app: FastifyInstance;

/** prod-1 runs 1-24-5 (1.24.5) and 1-25-2 (version `to`, ready or not); prod-2 has no 1-25-2 at all. */
function newInventory(to: { version: string; ready: boolean }, withProd2 = true): Record<string, unknown> {
  const from = { revision: '1-24-5', version: '1.24.5', ready: true };
  return {
    clusters: [
      {
        name: 'prod-1',
        controlPlanes: [from, { revision: '1-25-2', ...to }],
        workloads: newFleetWorkloads(4),
      },
      ...(withProd2 ? [{ name: 'prod-2', controlPlanes: [from], workloads: newFleetWorkloads(4) }] : []),
    ],
    vmGroups: [],
  };
}

const create = (spec: string) => app.inject({ method: 'POST', url: '/v1/rollouts', headers, payload: spec });
const putInventory = async (inventory: Record<string, unknown>): Promise<void> => {
  const put = await app.inject({
    method: 'PUT',
    url: '/v1/inventory',
    headers: { authorization: 'Bearer admin-token' },
    payload: inventory,
  });
  expect(put.statusCode).toBe(204);
};

beforeAll(async () => {
  planner = createPlanner({
    bus: createInMemoryBus({ broker: createInMemoryBroker(), source: 'planner', signing }),
    store: createInMemoryStore(),
    config: { instanceId: 'istio-rules-test', leaseRenewMs: 50, leaseTtlMs: 5000 },
  });
  await planner.start();
  for (let i = 0; i < 200 && !planner.isLeader(); i++) await new Promise((r) => setTimeout(r, 10));
  app = await buildApp({ planner, tokens });
});

afterAll(async () => {
  await app.close();
  await planner.stop();
});

describe("Istio's rules at rollout creation", () => {
  it('Given 1-25-2 missing in prod-2, When a rollout to it is created, Then 422 CONTROL_PLANE_MISSING names prod-2', async () => {
    await putInventory(newInventory({ version: '1.25.2', ready: true }));
    const res = await create(newRolloutYaml({ name: 'missing' }));
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      code: 'CONTROL_PLANE_MISSING',
      details: [{ path: 'spec.to', code: 'CONTROL_PLANE_MISSING', message: expect.stringContaining('cluster prod-2') }],
    });
    expect((await app.inject({ method: 'GET', url: '/v1/rollouts', headers })).json()).toEqual({ rollouts: [] });
  });

  it('Given the tag prod-stable on 1-24-5 at version 1.22.1, When a rollout moving the tag to 1-25-2 is created, Then 422 UNSUPPORTED_UPGRADE_PATH names the tag move', async () => {
    await putInventory({
      clusters: [
        {
          name: 'prod-1',
          controlPlanes: [
            { revision: '1-24-5', version: '1.22.1', ready: true },
            { revision: '1-25-2', version: '1.25.2', ready: true },
          ],
          tags: { 'prod-stable': '1-24-5' },
          workloads: newFleetWorkloads(4, 'prod-stable'),
        },
      ],
      vmGroups: [],
    });
    const tagMove = newRolloutYaml({ name: 'tag-jump', onGateFailure: 'rollback-all' }).replace(
      '  waves:\n',
      '  tag: prod-stable\n  waves:\n',
    );
    const refused = await create(tagMove);
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({
      code: 'UNSUPPORTED_UPGRADE_PATH',
      details: [
        {
          code: 'UNSUPPORTED_UPGRADE_PATH',
          message: expect.stringContaining('moving tag prod-stable from 1-24-5 to 1-25-2: 1.22.1 → 1.25.2'),
        },
      ],
    });
  });

  it('Given 1-25-2 at version 1.27.0, When a rollout is created, Then 422 UNSUPPORTED_UPGRADE_PATH; with a reason it is created and audited', async () => {
    await putInventory(newInventory({ version: '1.27.0', ready: true }, false));
    const refused = await create(newRolloutYaml({ name: 'jump' }));
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({
      code: 'UNSUPPORTED_UPGRADE_PATH',
      details: [{ code: 'UNSUPPORTED_UPGRADE_PATH', message: expect.stringContaining('1.24.5 → 1.27.0') }],
    });
    const allowed = await create(
      newRolloutYaml({ name: 'jump' }).replace(
        '  waves:\n',
        '  allowUnsupportedUpgradePath: { reason: "vendor build tested on staging" }\n  waves:\n',
      ),
    );
    expect(allowed.statusCode).toBe(201);
    const { id } = allowed.json() as { id: string };
    const audit = await app.inject({ method: 'GET', url: `/v1/audit?scope=${id}`, headers });
    expect(audit.json().entries).toContainEqual(
      expect.objectContaining({
        action: 'create',
        reason: 'vendor build tested on staging',
        detail: expect.objectContaining({
          allowUnsupportedUpgradePath: {
            reason: 'vendor build tested on staging',
            allowed: [expect.stringContaining('1.24.5 → 1.27.0')],
          },
        }),
      }),
    );
  });

  it("Given 1-25-2's istiod serving mesh-a only (its discoverySelectors, ADR 0056), When a rollout moving namespaces of no mesh onto it is created, Then 422 CONTROL_PLANE_OF_ANOTHER_MESH names the cluster and the mesh", async () => {
    await putInventory({
      clusters: [
        {
          name: 'prod-1',
          controlPlanes: [
            { revision: '1-24-5', version: '1.24.5', ready: true },
            { revision: '1-25-2', version: '1.25.2', ready: true, mesh: 'mesh-a' },
          ],
          workloads: newFleetWorkloads(4),
        },
      ],
      vmGroups: [],
    });
    const res = await create(newRolloutYaml({ name: 'other-mesh' }));
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      code: 'CONTROL_PLANE_OF_ANOTHER_MESH',
      details: [
        {
          path: 'spec.to',
          code: 'CONTROL_PLANE_OF_ANOTHER_MESH',
          message: expect.stringContaining('cluster prod-1: the control plane of 1-25-2 serves mesh mesh-a'),
        },
      ],
    });
  });
});
