import { createInMemoryBroker, createInMemoryBus } from '@meshwave/bus';
import { createInMemoryStore } from '@meshwave/store';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newFleetWorkloads, newRolloutYaml } from '../../../../test/integration/planner/scripted-agents.js';
import { createPlanner, type Planner } from '../runtime/planner.js';
import { buildApp } from './app.js';
import { hashTokens } from './auth.js';

const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };
const tokens = hashTokens([
  { name: 'victor', role: 'viewer', token: 'viewer-token' },
  { name: 'olga', role: 'operator', token: 'operator-token' },
  { name: 'ada', role: 'admin', token: 'admin-token' },
]);
const as = (token: string) => ({ authorization: `Bearer ${token}` });

function newInventoryBody(): Record<string, unknown> {
  return {
    clusters: ['prod-1', 'prod-2'].map((name) => ({ name, labels: { env: 'prod' }, workloads: newFleetWorkloads(6) })),
    vmGroups: [],
  };
}

let planner: Planner;
let app: FastifyInstance;
const store = createInMemoryStore();

beforeAll(async () => {
  planner = createPlanner({
    bus: createInMemoryBus({ broker: createInMemoryBroker(), source: 'planner', signing }),
    store,
    config: { instanceId: 'api-test', leaseRenewMs: 50, leaseTtlMs: 5000 },
  });
  await planner.start();
  for (let i = 0; i < 200 && !planner.isLeader(); i++) await new Promise((r) => setTimeout(r, 10));
  app = await buildApp({ planner, tokens, limits: { bodyLimitBytes: 64 * 1024 } });
  const put = await app.inject({
    method: 'PUT',
    url: '/v1/inventory',
    headers: as('admin-token'),
    payload: newInventoryBody(),
  });
  expect(put.statusCode).toBe(204);
});

afterAll(async () => {
  await app.close();
  await planner.stop();
});

describe('auth', () => {
  it('answers 401 without a token or with an unknown one, and 403 when a viewer mutates', async () => {
    const none = await app.inject({ method: 'GET', url: '/v1/rollouts' });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toEqual({ code: 'UNAUTHENTICATED', message: 'a bearer token is required', details: [] });
    expect((await app.inject({ method: 'GET', url: '/v1/rollouts', headers: as('nope') })).statusCode).toBe(401);
    const viewer = await app.inject({
      method: 'POST',
      url: '/v1/rollouts',
      headers: { ...as('viewer-token'), 'content-type': 'application/yaml' },
      payload: newRolloutYaml(),
    });
    expect(viewer.statusCode).toBe(403);
    expect(viewer.json().code).toBe('FORBIDDEN');
    const operatorPutsInventory = await app.inject({
      method: 'PUT',
      url: '/v1/inventory',
      headers: as('operator-token'),
      payload: newInventoryBody(),
    });
    expect(operatorPutsInventory.statusCode).toBe(403);
  });

  it('tells a token who it is and what role it has (whoami), and refuses one without a valid token', async () => {
    const viewer = await app.inject({ method: 'GET', url: '/v1/whoami', headers: as('viewer-token') });
    expect(viewer.json()).toEqual({ name: 'victor', role: 'viewer' });
    const operator = await app.inject({ method: 'GET', url: '/v1/whoami', headers: as('operator-token') });
    expect(operator.json()).toEqual({ name: 'olga', role: 'operator' });
    expect((await app.inject({ method: 'GET', url: '/v1/whoami', headers: as('nope') })).statusCode).toBe(401);
  });
});

describe('validation', () => {
  it('reports YAML spec errors with field path, line and column', async () => {
    const yaml = newRolloutYaml().replace(
      '    - { name: wave-1, percent: 50 }',
      '    - { name: wave-1, percent: 150 }',
    );
    const res = await app.inject({
      method: 'POST',
      url: '/v1/plans',
      headers: { ...as('viewer-token'), 'content-type': 'application/yaml' },
      payload: yaml,
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe('INVALID_SPEC');
    expect(body.details).toEqual([expect.objectContaining({ path: 'spec.waves[1].percent', line: 16, column: 23 })]);
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
  });

  it('reports a JSON body of the wrong shape with the field path', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/rollouts/x/exclude',
      headers: as('operator-token'),
      payload: { units: [{ cluster: 'prod-1' }] },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('INVALID_REQUEST');
    expect(res.json().details).toContainEqual(expect.objectContaining({ path: 'body.units[0].namespace' }));
  });

  it('refuses a body over the limit with 413 and a YAML syntax error with its position', async () => {
    const big = await app.inject({
      method: 'POST',
      url: '/v1/plans',
      headers: { ...as('viewer-token'), 'content-type': 'application/yaml' },
      payload: `# ${'x'.repeat(70 * 1024)}\n`,
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().code).toBe('PAYLOAD_TOO_LARGE');
    const broken = await app.inject({
      method: 'POST',
      url: '/v1/plans',
      headers: { ...as('viewer-token'), 'content-type': 'application/yaml' },
      payload: 'spec:\n  from: [1-24-5\n',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().details[0]).toMatchObject({ line: expect.any(Number), column: expect.any(Number) });
  });
});

describe('plans and rollouts', () => {
  it('plans against an inventory given in the body', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/plans',
      headers: as('viewer-token'),
      payload: { spec: newRolloutYaml(), inventory: { clusters: [{ name: 'c1', workloads: newFleetWorkloads(10) }] } },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().waves.flatMap((w: { units: string[] }) => w.units)).toHaveLength(10);
  });

  it('creates a rollout (201), shows it, lists it, and answers 404 for an unknown one', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/rollouts',
      headers: { ...as('operator-token'), 'content-type': 'application/yaml' },
      payload: newRolloutYaml({ name: 'api-create' }),
    });
    expect(res.statusCode).toBe(201);
    const { id } = res.json() as { id: string };
    const status = await app.inject({ method: 'GET', url: `/v1/rollouts/${id}`, headers: as('viewer-token') });
    expect(status.statusCode).toBe(200);
    expect(status.json()).toMatchObject({ id, name: 'api-create', from: '1-24-5', to: '1-25-2', waves: 3 });
    expect(status.json().waveStatuses).toHaveLength(3);
    const list = await app.inject({ method: 'GET', url: '/v1/rollouts', headers: as('viewer-token') });
    expect(list.json().rollouts.map((r: { id: string }) => r.id)).toContain(id);
    const again = await app.inject({
      method: 'POST',
      url: '/v1/rollouts',
      headers: { ...as('operator-token'), 'content-type': 'application/yaml' },
      payload: newRolloutYaml({ name: 'api-create' }),
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().message).toContain('already active');
    // ended, so that the next tests' rollouts of the same workloads are admitted
    const abort = await app.inject({ method: 'POST', url: `/v1/rollouts/${id}/abort`, headers: as('operator-token') });
    expect(abort.statusCode).toBe(200);
    const missing = await app.inject({ method: 'GET', url: '/v1/rollouts/nope', headers: as('viewer-token') });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ code: 'NOT_FOUND', message: 'no rollout nope', details: [] });
  });

  it('pauses, refuses a second pause with 409 saying why, and records an audit entry per mutation', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/rollouts',
      headers: { ...as('operator-token'), 'content-type': 'application/yaml' },
      payload: newRolloutYaml({ name: 'api-pause', waves: [100] }),
    });
    const { id } = res.json() as { id: string };
    const pause = await app.inject({
      method: 'POST',
      url: `/v1/rollouts/${id}/pause`,
      headers: as('operator-token'),
      payload: { reason: 'change freeze' },
    });
    expect(pause.statusCode).toBe(200);
    expect(pause.json()).toMatchObject({ id, action: 'pause', phase: 'Paused' });
    const twice = await app.inject({ method: 'POST', url: `/v1/rollouts/${id}/pause`, headers: as('operator-token') });
    expect(twice.statusCode).toBe(409);
    expect(twice.json()).toMatchObject({
      code: 'ACTION_NOT_APPLICABLE',
      message: expect.stringContaining('cannot pause a rollout that is Paused'),
    });
    const approve = await app.inject({
      method: 'POST',
      url: `/v1/rollouts/${id}/approve`,
      headers: as('operator-token'),
    });
    expect(approve.statusCode).toBe(409);
    const exclude = await app.inject({
      method: 'POST',
      url: `/v1/rollouts/${id}/exclude`,
      headers: as('operator-token'),
      payload: { units: [{ cluster: 'prod-1', namespace: 'team-1' }], reason: 'owner asked' },
    });
    expect(exclude.statusCode).toBe(200);
    const abort = await app.inject({
      method: 'POST',
      url: `/v1/rollouts/${id}/abort`,
      headers: as('operator-token'),
      payload: { reason: 'wrong target' },
    });
    expect(abort.json().phase).toBe('Failed');
    const audit = await app.inject({ method: 'GET', url: `/v1/rollouts/${id}/audit`, headers: as('viewer-token') });
    const entries = audit.json().entries as { actor: string; action: string; reason?: string }[];
    expect(entries.map((e) => `${e.actor}:${e.action}`)).toEqual(
      expect.arrayContaining(['olga:create', 'olga:pause', 'olga:exclude', 'olga:abort']),
    );
    expect(entries.find((e) => e.action === 'pause')?.reason).toBe('change freeze');
    const resume = await app.inject({
      method: 'POST',
      url: `/v1/rollouts/${id}/resume`,
      headers: as('operator-token'),
    });
    expect(resume.statusCode).toBe(409);
    expect(resume.json().message).toContain('Failed');
  });
});

describe('fleet, docs and operations', () => {
  it('shows units per revision per cluster and the revisions in use', async () => {
    const fleet = await app.inject({ method: 'GET', url: '/v1/fleet', headers: as('viewer-token') });
    expect(fleet.statusCode).toBe(200);
    expect(
      fleet.json().clusters.map((c: { name: string; revisions: Record<string, number> }) => [c.name, c.revisions]),
    ).toEqual([
      ['prod-1', { '1-24-5': 6 }],
      ['prod-2', { '1-24-5': 6 }],
    ]);
    expect(fleet.json().revisions).toEqual([
      { revision: '1-24-5', workloads: 12, vmHosts: 0, clusters: ['prod-1', 'prod-2'] },
    ]);
    expect(
      (await app.inject({ method: 'GET', url: '/v1/clusters/prod-1', headers: as('viewer-token') })).json()
        .workloadList,
    ).toHaveLength(6);
    expect(
      (await app.inject({ method: 'GET', url: '/v1/clusters/nope', headers: as('viewer-token') })).statusCode,
    ).toBe(404);
  });

  it('serves OpenAPI 3.1 from the route schemas, a docs page, health, readiness and metrics', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/plans',
        '/v1/rollouts',
        '/v1/rollouts/{id}',
        '/v1/rollouts/{id}/pause',
        '/v1/fleet',
        '/v1/events',
      ]),
    );
    expect(
      doc.paths['/v1/rollouts/{id}'].get.responses['200'].content['application/json'].schema.properties.phase,
    ).toBeDefined();
    expect((await app.inject({ method: 'GET', url: '/docs/' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.json()).toMatchObject({
      status: 'ready',
      leader: true,
      checks: { store: { ok: true }, bus: { ok: true }, leadership: { ok: true } },
    });
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain('meshwave_rollouts{phase=');
    expect(metrics.body).toContain('meshwave_units{cluster="prod-1",revision="1-24-5"} 6');
  });

  it('streams events as SSE', async () => {
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const controller = new AbortController();
    const res = await fetch(`${address}/v1/events?access_token=viewer-token`, { signal: controller.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    const created = await app.inject({
      method: 'POST',
      url: '/v1/rollouts',
      headers: { ...as('operator-token'), 'content-type': 'application/yaml' },
      payload: newRolloutYaml({ name: 'api-sse' }),
    });
    const id = created.json().id as string;
    let text = '';
    while (!text.includes('"type":"transition"')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(text).toContain(`"rolloutId":"${id}"`);
  });

  it('hides internals in a 500', async () => {
    await store.close();
    const res = await app.inject({ method: 'GET', url: '/v1/rollouts', headers: as('viewer-token') });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ code: 'INTERNAL', message: 'internal error', details: [] });
  });
});

describe('meshes', () => {
  it('splits a service graph through the API, with field paths for a bad request', async () => {
    const graph = {
      nodes: ['a', 'b', 'c', 'd'].map((id) => ({ id, weight: 1 })),
      edges: [
        { source: 'a', target: 'b', weight: 10 },
        { source: 'c', target: 'd', weight: 10 },
        { source: 'b', target: 'c', weight: 1 },
      ],
    };
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/meshes/split',
      headers: as('viewer-token'),
      payload: { graph, options: { meshes: 2 } },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json<{ cut: { traffic: number } }>().cut.traffic).toBe(1);
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/meshes/split',
      headers: as('viewer-token'),
      payload: { graph, options: { meshes: 0 } },
    });
    expect(bad.statusCode).toBe(400);
    expect(JSON.stringify(bad.json())).toContain('options');
  });
});
