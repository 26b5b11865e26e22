import type { Plan } from '@meshwave/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { newFleetWorkloads, newRolloutYaml } from '../../../../test/integration/planner/scripted-agents.js';
import { newPlannerApi, type PlannerApi } from '../../../../test/support/planner-api.js';

const yaml = { authorization: 'Bearer operator-token', 'content-type': 'application/yaml' };
const gatewaysSection = [
  '  gateways:',
  '    select: { gatewayLabels: { istio: ingressgateway } }',
  '    steps: [25, 100]',
];

let api: PlannerApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function newApiWithGateways(): Promise<PlannerApi> {
  const planner = await newPlannerApi();
  await planner.planner.putInventory(
    {
      clusters: ['prod-1', 'prod-2'].map((name) => ({
        name,
        labels: {},
        workloads: newFleetWorkloads(6),
        gateways: [
          {
            namespace: 'istio-ingress',
            name: 'istio-ingressgateway',
            kind: 'injected' as const,
            labels: { istio: 'ingressgateway' },
            revision: '1-24-5',
            replicas: 4,
          },
        ],
      })),
      vmGroups: [],
    },
    'test',
  );
  return planner;
}

describe('the plan API lists the gateway steps (ADR 0047)', () => {
  it('Given gateways in the inventory and a gateways section, When planned (dry run), Then it lists the steps after the waves, And the rollout is created with them (the engine dispatches them, ADR 0050)', async () => {
    api = await newApiWithGateways();
    const payload = [newRolloutYaml().trimEnd(), ...gatewaysSection, ''].join('\n');
    const dry = await api.app.inject({ method: 'POST', url: '/v1/plans', headers: yaml, payload });
    expect(dry.statusCode).toBe(200);
    const plan = dry.json<Plan>();
    expect(plan.gatewaySteps.map((s) => [s.name, s.percent, s.gateways.map((g) => g.cluster)])).toEqual([
      ['gateways-25%', 25, ['prod-1', 'prod-2']],
      ['gateways-100%', 100, ['prod-1', 'prod-2']],
    ]);
    const lastWave = plan.waves.at(-1)!;
    expect(Date.parse(plan.gatewaySteps[0]!.earliestStart)).toBeGreaterThanOrEqual(
      Date.parse(lastWave.estimatedConverged),
    );
    // the gateway Deployments are in no wave
    expect(plan.waves.flatMap((w) => w.workloads).some((w) => w.name === 'istio-ingressgateway')).toBe(false);

    const created = await api.app.inject({ method: 'POST', url: '/v1/rollouts', headers: yaml, payload });
    expect(created.statusCode).toBe(201);
    const id = created.json<{ id: string }>().id;
    const stored = await api.app.inject({
      method: 'GET',
      url: `/v1/rollouts/${id}/plan`,
      headers: { authorization: yaml.authorization },
    });
    expect(stored.statusCode).toBe(200);
    expect(stored.json<Plan>().gatewaySteps.map((s) => s.name)).toEqual(['gateways-25%', 'gateways-100%']);
  });

  it('Given a gateways section that selects no gateway, When created, Then the rollout is accepted (it leaves no gateway behind)', async () => {
    api = await newApiWithGateways();
    const noMatch = gatewaysSection.map((line) => line.replace('ingressgateway', 'no-such-gateway'));
    const payload = [newRolloutYaml().trimEnd(), ...noMatch, ''].join('\n');
    const created = await api.app.inject({ method: 'POST', url: '/v1/rollouts', headers: yaml, payload });
    expect(created.statusCode).toBe(201);
  });

  it('Given steps that do not increase, When planned, Then 400 names the step', async () => {
    api = await newApiWithGateways();
    const payload = [newRolloutYaml().trimEnd(), '  gateways:', '    steps: [50, 10, 100]', ''].join('\n');
    const res = await api.app.inject({ method: 'POST', url: '/v1/plans', headers: yaml, payload });
    expect(res.statusCode).toBe(400);
    expect(JSON.stringify(res.json())).toContain('spec.gateways.steps[1]');
  });
});
