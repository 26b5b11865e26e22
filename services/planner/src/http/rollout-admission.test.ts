import { createInMemoryBroker, createInMemoryBus } from '@meshwave/bus';
import { createInMemoryStore, type StateStore } from '@meshwave/store';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { newFleetWorkloads, newRolloutYaml } from '../../../../test/integration/planner/scripted-agents.js';
import { overlappingUnits } from '../runtime/rollout-admission.js';
import { createPlanner, type Planner } from '../runtime/planner.js';
import { buildApp } from './app.js';
import { hashTokens } from './auth.js';

const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };
const tokens = hashTokens([
  { name: 'olga', role: 'operator', token: 'operator-token' },
  { name: 'ada', role: 'admin', token: 'admin-token' },
]);
const headers = { authorization: 'Bearer operator-token' };
const yamlHeaders = { ...headers, 'content-type': 'application/yaml' };

/**
 * The in-memory store with a network round trip's delay before each operation, as Redis has: the interleavings
 * of concurrent requests are those of production, not those of a store that answers within the same tick.
 */
function withLatency(store: StateStore, ms: number): StateStore {
  return new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await new Promise((r) => setTimeout(r, ms));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** A rollout of every workload of prod-1 and prod-2, but for the clusters in `skip`. */
function newRollout(name: string, skip: readonly string[] = []): string {
  const exclude = skip.length === 0 ? [] : [`  exclude: [{ clusters: [${skip.join(', ')}] }]`];
  return newRolloutYaml({ name, waves: [100] }).replace('  waves:\n', [...exclude, '  waves:', ''].join('\n'));
}

const apps: { app: FastifyInstance; planner: Planner }[] = [];
afterEach(async () => {
  for (const { app, planner } of apps.splice(0)) {
    await app.close();
    await planner.stop();
  }
});

/** Given a leading planner over a store with `latencyMs` per operation, and an inventory of two clusters */
async function newApi(latencyMs: number): Promise<FastifyInstance> {
  const planner = createPlanner({
    bus: createInMemoryBus({ broker: createInMemoryBroker(), source: 'planner', signing }),
    store: withLatency(createInMemoryStore(), latencyMs),
    config: { instanceId: 'admission-test', leaseRenewMs: 50, leaseTtlMs: 5000 },
  });
  await planner.start();
  for (let i = 0; i < 400 && !planner.isLeader(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(planner.isLeader()).toBe(true);
  const app = await buildApp({ planner, tokens });
  apps.push({ app, planner });
  const inventory = {
    clusters: ['prod-1', 'prod-2'].map((name) => ({ name, labels: {}, workloads: newFleetWorkloads(4) })),
    vmGroups: [],
  };
  const put = await app.inject({
    method: 'PUT',
    url: '/v1/inventory',
    headers: { authorization: 'Bearer admin-token' },
    payload: inventory,
  });
  expect(put.statusCode).toBe(204);
  return app;
}

const create = (app: FastifyInstance, yaml: string) =>
  app.inject({ method: 'POST', url: '/v1/rollouts', headers: yamlHeaders, payload: yaml });

describe('rollout admission', () => {
  it('Given a store with Redis-like latency, When 20 rollouts of one name are created at once, Then exactly one is created and 19 get 409', async () => {
    const app = await newApi(2);
    const responses = await Promise.all(Array.from({ length: 20 }, () => create(app, newRollout('upgrade'))));
    const codes = responses.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 201)).toHaveLength(1);
    expect(codes.filter((c) => c === 409)).toHaveLength(19);
    const winner = responses.find((r) => r.statusCode === 201)!.json<{ id: string }>().id;
    for (const r of responses.filter((x) => x.statusCode === 409))
      expect(r.json()).toMatchObject({
        code: 'CONFLICT',
        message: expect.stringContaining(`already active as ${winner}`),
      });
    const list = await app.inject({ method: 'GET', url: '/v1/rollouts', headers });
    expect(list.json<{ rollouts: unknown[] }>().rollouts).toHaveLength(1);
  });

  it('Given 20 rollouts of different names over the same units created at once, Then exactly one is created', async () => {
    const app = await newApi(2);
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => create(app, newRollout(`team-${i}`))));
    expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(1);
    expect(responses.filter((r) => r.statusCode === 409)).toHaveLength(19);
  });

  it('Given active rollouts, When one whose units overlap theirs is created, Then 409 names each conflicting rollout and its units; once they end it is accepted', async () => {
    const app = await newApi(1);
    const first = await create(app, newRollout('prod-1-only', ['prod-2']));
    expect(first.statusCode).toBe(201);
    const second = await create(app, newRollout('prod-2-only', ['prod-1']));
    expect(second.statusCode).toBe(201);
    const [a, b] = [first.json<{ id: string }>().id, second.json<{ id: string }>().id];

    const everything = await create(app, newRollout('everything'));
    expect(everything.statusCode).toBe(409);
    const body = everything.json<{ code: string; message: string; details: { path: string; message: string }[] }>();
    expect(body.code).toBe('CONFLICT');
    expect(body.message).toContain(a);
    expect(body.message).toContain(b);
    expect(body.details.map((d) => d.path).sort()).toEqual([`rollouts.${a}`, `rollouts.${b}`].sort());
    const aDetail = body.details.find((d) => d.path === `rollouts.${a}`)!.message;
    expect(aDetail).toMatch(/^"prod-1-only" \((Pending|Running)\) drives 4 of these units: /);
    expect(aDetail).toContain('prod-1/team-0/Deployment/svc-0');
    expect(aDetail).not.toContain('prod-2/');

    // When the first ends (aborted: Failed), Then only the second still conflicts
    expect(
      (await app.inject({ method: 'POST', url: `/v1/rollouts/${a}/abort`, headers, payload: {} })).statusCode,
    ).toBe(200);
    const again = await create(app, newRollout('everything'));
    expect(again.statusCode).toBe(409);
    expect(again.json<{ details: { path: string }[] }>().details.map((d) => d.path)).toEqual([`rollouts.${b}`]);
    // and a rollout of the first's units is accepted again
    expect((await create(app, newRollout('prod-1-again', ['prod-2']))).statusCode).toBe(201);
  });
});

describe('rollout admission: the deadline', () => {
  const withDeadline = (deadline: string, extra: readonly string[] = []): string =>
    newRollout('upgrade').replace(
      '  deadline: "2030-01-01T00:00:00Z"',
      [`  deadline: "${deadline}"`, ...extra].join('\n'),
    );
  const soon = (): string => new Date(Date.now() + 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const slow = ['  defaults: { soak: 2h }'];

  it('Given a deadline already past, When the rollout is created, Then 422 DEADLINE_PASSED at spec.deadline and nothing is created', async () => {
    const app = await newApi(0);
    const res = await create(app, withDeadline('2020-01-01T00:00:00Z'));
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'DEADLINE_PASSED', details: [{ path: 'spec.deadline' }] });
    const list = await app.inject({ method: 'GET', url: '/v1/rollouts', headers });
    expect(list.json<{ rollouts: unknown[] }>().rollouts).toHaveLength(0);
  });

  it('Given a plan that misses its deadline, Then 422 PLAN_INFEASIBLE lists its problems; with acceptInfeasible it is created and the reason audited', async () => {
    const app = await newApi(0);
    const refused = await create(app, withDeadline(soon()).replace(/ {2}defaults:\n(?: {4}.*\n)+/, `${slow[0]}\n`));
    expect(refused.statusCode).toBe(422);
    const body = refused.json<{ code: string; details: { path: string; message: string }[] }>();
    expect(body.code).toBe('PLAN_INFEASIBLE');
    expect(body.details[0]).toMatchObject({
      path: 'spec.waves[0]',
      message: expect.stringMatching(/^DEADLINE_MISSED/),
    });

    const accepted = await create(
      app,
      withDeadline(soon(), ['  acceptInfeasible: { reason: "CVE fix: late beats never" }']).replace(
        / {2}defaults:\n(?: {4}.*\n)+/,
        `${slow[0]}\n`,
      ),
    );
    expect(accepted.statusCode).toBe(201);
    const id = accepted.json<{ id: string }>().id;
    const audit = await app.inject({ method: 'GET', url: `/v1/rollouts/${id}/audit`, headers });
    expect(audit.json<{ entries: { action: string; reason?: string }[] }>().entries).toContainEqual(
      expect.objectContaining({ action: 'create', reason: 'accepted infeasible: CVE fix: late beats never' }),
    );
  });
});

describe('overlappingUnits', () => {
  it('counts a namespace unit and a workload unit of that namespace as one workload driven twice', () => {
    const active = ['c1/team-a', 'c1/team-b/Deployment/api', 'vm:edge/host-1'];
    expect(
      overlappingUnits(
        [
          'c1/team-a/Deployment/web',
          'c1/team-b',
          'c1/team-b/Deployment/api',
          'c1/team-b/Deployment/db',
          'c2/team-a',
          'vm:edge/host-1',
          'vm:edge/host-2',
        ],
        active,
      ),
    ).toEqual(['c1/team-a/Deployment/web', 'c1/team-b', 'c1/team-b/Deployment/api', 'vm:edge/host-1']);
  });
});
