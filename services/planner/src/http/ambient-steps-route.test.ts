import type { Plan } from '@meshwave/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { newFleetWorkloads, newRolloutYaml } from '../../../../test/integration/planner/scripted-agents.js';
import { newPlannerApi, type PlannerApi } from '../../../../test/support/planner-api.js';

const yaml = { authorization: 'Bearer operator-token', 'content-type': 'application/yaml' };

let api: PlannerApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

/** Two clusters of 3 nodes whose ztunnel runs 1.24.5 while its DaemonSet's template is on 1.25.2. */
async function newApiWithAmbient(): Promise<PlannerApi> {
  const planner = await newPlannerApi();
  await planner.planner.putInventory(
    {
      clusters: ['prod-1', 'prod-2'].map((name) => ({
        name,
        labels: {},
        workloads: newFleetWorkloads(6),
        ambient: {
          nodes: [0, 1, 2].map((i) => ({ name: `node-${i}`, pool: 'ambient', agents: { ztunnel: '1.24.5' } })),
          nodeAgents: [
            {
              kind: 'ztunnel' as const,
              namespace: 'istio-system',
              name: 'ztunnel',
              revision: null,
              version: '1.25.2',
              updateStrategy: 'OnDelete' as const,
            },
          ],
          waypoints: [],
        },
      })),
      vmGroups: [],
    },
    'test',
  );
  return planner;
}

describe('the plan API lists the ambient steps (ADR 0051)', () => {
  it('Given ztunnel behind its template in two clusters, When planned (dry run), Then it lists the node waves, And creating the rollout is refused (422) until the planner dispatches them', async () => {
    api = await newApiWithAmbient();
    const payload = [
      newRolloutYaml().trimEnd(),
      '  ambient: { select: { pools: [ambient] }, maxUnavailable: 2 }',
      '',
    ].join('\n');
    const dry = await api.app.inject({ method: 'POST', url: '/v1/plans', headers: yaml, payload });
    expect(dry.statusCode).toBe(200);
    expect(dry.json<Plan>().ambientSteps.map((s) => [s.name, s.nodes.map((n) => `${n.cluster}/${n.name}`)])).toEqual([
      ['ztunnel-1', ['prod-1/node-0', 'prod-1/node-1', 'prod-2/node-0', 'prod-2/node-1']],
      ['ztunnel-2', ['prod-1/node-2', 'prod-2/node-2']],
    ]);

    const created = await api.app.inject({ method: 'POST', url: '/v1/rollouts', headers: yaml, payload });
    expect(created.statusCode).toBe(422);
    expect(created.json()).toMatchObject({ code: 'AMBIENT_STEPS_NOT_DISPATCHED' });
    expect(JSON.stringify(created.json())).toContain('spec.ambient');
  });

  it('Given an ambient section that selects no node, When created, Then the rollout is accepted (it leaves nothing behind)', async () => {
    api = await newApiWithAmbient();
    const payload = [newRolloutYaml().trimEnd(), '  ambient: { select: { pools: [no-such-pool] } }', ''].join('\n');
    const created = await api.app.inject({ method: 'POST', url: '/v1/rollouts', headers: yaml, payload });
    expect(created.statusCode).toBe(201);
  });

  it('Given maxUnavailable 0, When planned, Then 400 names the field', async () => {
    api = await newApiWithAmbient();
    const payload = [newRolloutYaml().trimEnd(), '  ambient:', '    maxUnavailable: 0', ''].join('\n');
    const res = await api.app.inject({ method: 'POST', url: '/v1/plans', headers: yaml, payload });
    expect(res.statusCode).toBe(400);
    expect(JSON.stringify(res.json())).toContain('spec.ambient.maxUnavailable');
  });
});
