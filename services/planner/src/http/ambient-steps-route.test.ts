import type { Plan } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { newFleetWorkloads, newRolloutYaml } from '../../../../test/integration/planner/scripted-agents.js';
import { newPlannerApi, type PlannerApi } from '../../../../test/support/planner-api.js';

const yaml = { authorization: 'Bearer operator-token', 'content-type': 'application/yaml' };

/** A node of pool `ambient` whose ztunnel runs 1.24.5, while the DaemonSet's template is on 1.25.2. */
const oldNode = (i: number) => ({ name: `node-${i}`, pool: 'ambient', agents: { ztunnel: '1.24.5' } });
const ztunnel = {
  kind: 'ztunnel' as const,
  namespace: 'istio-system',
  name: 'ztunnel',
  revision: null,
  version: '1.25.2',
  updateStrategy: 'OnDelete' as const,
};

/** Runs `test` against a planner whose inventory holds two clusters of 3 such nodes; closes it after. */
async function withAmbientPlanner(test: (api: PlannerApi) => Promise<void>): Promise<void> {
  const api = await newPlannerApi();
  try {
    const clusters = ['prod-1', 'prod-2'].map((name) => ({
      name,
      labels: {},
      workloads: newFleetWorkloads(6),
      ambient: { nodes: [0, 1, 2].map(oldNode), nodeAgents: [ztunnel], waypoints: [] },
    }));
    await api.planner.putInventory({ clusters, vmGroups: [] }, 'test');
    await test(api);
  } finally {
    await api.close();
  }
}

describe('the plan API lists the ambient steps (ADR 0051)', () => {
  it('Given ztunnel behind its template in two clusters, When planned (dry run), Then it lists the node waves, And creating the rollout is accepted (the planner dispatches them)', () =>
    withAmbientPlanner(async (api) => {
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
      expect(created.statusCode).toBe(201);
    }));

  it('Given an ambient section that selects no node, When created, Then the rollout is accepted (it leaves nothing behind)', () =>
    withAmbientPlanner(async (api) => {
      const payload = [newRolloutYaml().trimEnd(), '  ambient: { select: { pools: [no-such-pool] } }', ''].join('\n');
      const created = await api.app.inject({ method: 'POST', url: '/v1/rollouts', headers: yaml, payload });
      expect(created.statusCode).toBe(201);
    }));

  it('Given maxUnavailable 0, When planned, Then 400 names the field', () =>
    withAmbientPlanner(async (api) => {
      const payload = [newRolloutYaml().trimEnd(), '  ambient:', '    maxUnavailable: 0', ''].join('\n');
      const res = await api.app.inject({ method: 'POST', url: '/v1/plans', headers: yaml, payload });
      expect(res.statusCode).toBe(400);
      expect(JSON.stringify(res.json())).toContain('spec.ambient.maxUnavailable');
    }));
});
