import { NAME_MAX_LENGTH, PATH_PARAM_CAP, ROLLOUT_ID_MAX_LENGTH, RolloutId, rolloutIdOf } from '@meshwave/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newFleetWorkloads, newRolloutYaml } from '../../../../test/integration/planner/scripted-agents.js';
import { bearer, newPlannerApi, type PlannerApi } from '../../../../test/support/planner-api.js';

/** A valid name of `length` characters. */
const nameOf = (length: number): string => `n${'a'.repeat(length - 1)}`;
const longestCluster = nameOf(NAME_MAX_LENGTH);
let api: PlannerApi;

beforeAll(async () => {
  api = await newPlannerApi({ clusters: ['prod-1', longestCluster] });
});

afterAll(async () => {
  await api.close();
});

async function createRollout(name: string) {
  return api.app.inject({
    method: 'POST',
    url: '/v1/rollouts',
    headers: { ...bearer('operator-token'), 'content-type': 'application/yaml' },
    payload: newRolloutYaml({ name, waves: [100] }),
  });
}

describe('one length limit for names and ids', () => {
  it('Given a rollout whose name has the longest length allowed, When it is created, Then it can be read, paused and aborted by its id', async () => {
    const created = await createRollout(nameOf(NAME_MAX_LENGTH));
    expect(created.statusCode).toBe(201);
    const { id } = created.json<{ id: string }>();
    expect(id.length).toBeLessThanOrEqual(ROLLOUT_ID_MAX_LENGTH);
    expect(
      (await api.app.inject({ method: 'GET', url: `/v1/rollouts/${id}`, headers: bearer('viewer-token') })).json(),
    ).toMatchObject({ id });
    for (const action of ['pause', 'abort']) {
      const res = await api.app.inject({
        method: 'POST',
        url: `/v1/rollouts/${id}/${action}`,
        headers: bearer('operator-token'),
      });
      expect(res.statusCode, action).toBe(200);
    }
  });

  it('Given a rollout name one character over the limit, When it is created, Then it is refused with the field path', async () => {
    const res = await createRollout(nameOf(NAME_MAX_LENGTH + 1));
    expect(res.statusCode).toBe(400);
    expect(res.json().details).toContainEqual(
      expect.objectContaining({ path: 'metadata.name', message: expect.stringContaining(`${NAME_MAX_LENGTH}`) }),
    );
  });

  it('Given a cluster name at and over the limit, Then the inventory and the cluster route draw the line at the same length', async () => {
    const longest = await api.app.inject({
      method: 'GET',
      url: `/v1/clusters/${longestCluster}`,
      headers: bearer('viewer-token'),
    });
    expect(longest.statusCode).toBe(200);
    const put = await api.app.inject({
      method: 'PUT',
      url: '/v1/inventory',
      headers: bearer('admin-token'),
      payload: { clusters: [{ name: nameOf(NAME_MAX_LENGTH + 1), workloads: newFleetWorkloads(1) }], vmGroups: [] },
    });
    expect(put.statusCode).toBe(400);
    expect(put.json().details).toContainEqual(expect.objectContaining({ path: 'body.clusters[0].name' }));
  });

  it('Given an id or a name over its limit (101 characters, or up to the router cap), When any /v1 route takes it, Then the schema refuses it: 400 in the error shape, naming the parameter', async () => {
    const doc = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    const routes = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/v1/') && path.includes('{'))
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })));
    expect(routes.length).toBeGreaterThanOrEqual(8);
    for (const length of [101, PATH_PARAM_CAP])
      for (const { method, path } of routes) {
        const param = path.match(/\{(\w+)\}/)![1]!;
        const res = await api.app.inject({
          method: method as 'GET',
          url: path.replace(/\{\w+\}/g, nameOf(length)),
          headers: bearer('admin-token'),
          ...(method === 'GET' ? {} : { payload: {} }),
        });
        expect(res.statusCode, `${method} ${path} (${length})`).toBe(400);
        const body = res.json();
        expect(body, `${method} ${path}`).toMatchObject({ code: 'INVALID_REQUEST' });
        expect(body.details, `${method} ${path}`).toContainEqual(expect.objectContaining({ path: `params.${param}` }));
      }
  });

  it('Given a path parameter longer than the router cap, Then the answer is still in the error shape', async () => {
    const res = await api.app.inject({
      method: 'GET',
      url: `/v1/rollouts/${nameOf(PATH_PARAM_CAP + 1)}`,
      headers: bearer('viewer-token'),
    });
    expect(res.statusCode).toBe(414);
    expect(res.json()).toEqual({ code: 'INVALID_REQUEST', message: expect.any(String), details: [] });
  });

  it('keeps the id of the longest name within the id limit until the year 5188', () => {
    const far = Date.UTC(5000, 0, 1);
    expect(RolloutId.safeParse(rolloutIdOf(nameOf(NAME_MAX_LENGTH), far, 'ffff')).success).toBe(true);
    expect(RolloutId.safeParse(rolloutIdOf(nameOf(NAME_MAX_LENGTH), Date.now(), '0000')).success).toBe(true);
  });
});
