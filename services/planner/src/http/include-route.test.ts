import { afterEach, describe, expect, it } from 'vitest';
import { newRolloutYaml } from '../../../../test/integration/planner/scripted-agents.js';
import { bearer, newPlannerApi, type PlannerApi } from '../../../../test/support/planner-api.js';

const operator = bearer('operator-token');
const viewer = bearer('viewer-token');

let api: PlannerApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const unitBody = (unit: string, reason?: string) => {
  const [cluster, namespace, kind, name] = unit.split('/');
  return { units: [{ cluster, namespace, kind, name }], ...(reason ? { reason } : {}) };
};

describe('POST /v1/rollouts/:id/include', () => {
  it('Given an excluded unit, When an operator includes it back with a reason, Then it is no longer excluded and the audit says who and why; a viewer is refused 403, a unit not excluded 422 with its field', async () => {
    // Given a rollout whose first wave awaits approval (nothing started) and one of its units excluded
    api = await newPlannerApi();
    const { app } = api;
    const created = await app.inject({
      method: 'POST',
      url: '/v1/rollouts',
      headers: { ...operator, 'content-type': 'application/yaml' },
      payload: newRolloutYaml({ approval: [0] }),
    });
    expect(created.statusCode).toBe(201);
    const { id } = created.json<{ id: string }>();
    // create answers with the plan's summary; the first wave's units come from its page (ADR 0039)
    const page = await app.inject({ method: 'GET', url: `/v1/rollouts/${id}/plan/waves/0?limit=1`, headers: operator });
    const unit = page.json<{ units: string[] }>().units[0]!;
    const url = (action: string): string => `/v1/rollouts/${id}/${action}`;
    const post = (action: string, headers: Record<string, string>, reason?: string) =>
      app.inject({ method: 'POST', url: url(action), headers, payload: unitBody(unit, reason) });
    expect((await post('exclude', operator)).statusCode).toBe(200);

    // a viewer may not take it back
    expect((await post('include', viewer)).statusCode).toBe(403);

    // When an operator includes it back
    const included = await post('include', operator, 'fixed in app 2.3.1');
    expect(included.statusCode).toBe(200);
    expect(included.json<{ message: string }>().message).toBe(`included back by olga: ${unit}: fixed in app 2.3.1`);

    // Then it is no longer excluded, and the audit holds the inclusion with its reason and unit
    const status = await app.inject({ method: 'GET', url: `/v1/rollouts/${id}`, headers: viewer });
    expect(status.json<{ excluded: string[] }>().excluded).toEqual([]);
    const audit = await app.inject({ method: 'GET', url: url('audit'), headers: viewer });
    const entries = audit.json<{ entries: { action: string; actor: string; reason?: string; detail: unknown }[] }>()
      .entries;
    expect(entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          action: 'include',
          actor: 'olga',
          reason: 'fixed in app 2.3.1',
          detail: expect.objectContaining({ units: [expect.objectContaining({ name: unit.split('/')[3] })] }),
        }),
      ]),
    );

    // and a unit that is not excluded is refused, naming the field
    const again = await post('include', operator);
    expect(again.statusCode).toBe(422);
    expect(again.json<{ details: { path: string; message: string }[] }>().details).toEqual([
      expect.objectContaining({ path: 'units[0]', message: `${unit} is not excluded from rollout ${id}` }),
    ]);
  });
});
