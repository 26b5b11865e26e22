import { Policy } from '@meshwave/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { newRolloutYaml } from '../../../../test/integration/planner/scripted-agents.js';
import { newPlannerApi, type PlannerApi } from '../../../../test/support/planner-api.js';

const policy = Policy.parse({
  apiVersion: 'meshwave.io/v1alpha1',
  kind: 'Policy',
  rules: [{ name: 'soak-everywhere', clusterLabels: {}, require: { minSoak: '1h' } }],
});
const yaml = { authorization: 'Bearer operator-token', 'content-type': 'application/yaml' };

let api: PlannerApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

describe('POST /v1/rollouts under a policy', () => {
  it("Given a planner policy requiring a soak of 1h, When a rollout soaks less, Then it is refused 422 POLICY_VIOLATION with the rule's name and the field path, and nothing is created", async () => {
    api = await newPlannerApi({ config: { policy } });
    const res = await api.app.inject({ method: 'POST', url: '/v1/rollouts', headers: yaml, payload: newRolloutYaml() });
    expect(res.statusCode).toBe(422);
    const body = res.json<{ code: string; details: { path: string; code: string; message: string }[] }>();
    expect(body.code).toBe('POLICY_VIOLATION');
    expect(body.details[0]).toEqual({
      path: 'spec.defaults.soak',
      code: 'soak-everywhere',
      message: 'policy rule "soak-everywhere": wave "wave-0" soaks 0s in all clusters; at least 3600s',
    });
    const list = await api.app.inject({ method: 'GET', url: '/v1/rollouts', headers: yaml });
    expect(list.json<{ rollouts: unknown[] }>().rollouts).toEqual([]);
  });

  it('Given the same policy, When the rollout soaks 1h, Then it is created', async () => {
    api = await newPlannerApi({ config: { policy } });
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/rollouts',
      headers: yaml,
      payload: newRolloutYaml({ soak: '1h' }),
    });
    expect(res.statusCode).toBe(201);
  });
});

describe('POST /v1/plans under a policy (what `meshwave apply` shows before it asks)', () => {
  it('Given the same policy, When a rollout that soaks less is planned, Then the dry run names the rule that applies and the field that breaks it, and creates nothing', async () => {
    api = await newPlannerApi({ config: { policy } });
    const res = await api.app.inject({ method: 'POST', url: '/v1/plans', headers: yaml, payload: newRolloutYaml() });
    expect(res.statusCode).toBe(200);
    const shown = res.json<{
      policy?: { rules: string[]; violations: { rule: string; path: string; message: string }[] };
    }>().policy;
    expect(shown?.rules).toEqual(['soak-everywhere']);
    expect(shown?.violations.map((v) => v.message)).toEqual(
      [0, 1, 2].map((w) => `policy rule "soak-everywhere": wave "wave-${w}" soaks 0s in all clusters; at least 3600s`),
    );
    expect(new Set(shown?.violations.map((v) => `${v.rule} ${v.path}`))).toEqual(
      new Set(['soak-everywhere spec.defaults.soak']),
    );
    const list = await api.app.inject({ method: 'GET', url: '/v1/rollouts', headers: yaml });
    expect(list.json<{ rollouts: unknown[] }>().rollouts).toEqual([]);
  });

  it('Given no policy, Then the dry run has no policy section', async () => {
    api = await newPlannerApi();
    const res = await api.app.inject({ method: 'POST', url: '/v1/plans', headers: yaml, payload: newRolloutYaml() });
    expect(res.statusCode).toBe(200);
    expect(res.json<{ policy?: unknown }>().policy).toBeUndefined();
  });
});
