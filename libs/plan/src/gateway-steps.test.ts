import { describe, expect, it } from 'vitest';
import { Inventory, Plan, RolloutSpec, type InventoryInput, type RolloutSpecInput } from '@meshwave/contracts';
import { formatPlanTable } from './format-table.js';
import { planRollout } from './wave-planner.js';

const FROM = '1-24-5';
const TO = '1-25-2';
const NOW = new Date('2026-11-23T08:00:00Z');

function newSpec(spec: Partial<RolloutSpecInput['spec']> = {}): RolloutSpec {
  return RolloutSpec.parse({
    apiVersion: 'meshwave.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'gw' },
    spec: {
      from: FROM,
      to: TO,
      deadline: '2027-03-01T00:00:00Z',
      defaults: { soak: '1h', batchEstimate: '5m' },
      waves: [
        { name: 'canary', percent: 50 },
        { name: 'rest', percent: 100 },
      ],
      ...spec,
    },
  });
}

const controlPlanes = [
  { revision: FROM, version: '1.24.5', ready: true },
  { revision: TO, version: '1.25.2', ready: true },
];

function newInventory(): Inventory {
  const input: InventoryInput = {
    clusters: [
      {
        name: 'prod-1',
        labels: { env: 'prod' },
        controlPlanes,
        tags: { 'prod-stable': FROM },
        workloads: [
          { namespace: 'shop', kind: 'Deployment', name: 'web', revision: FROM },
          { namespace: 'shop', kind: 'Deployment', name: 'api', revision: FROM },
        ],
        gateways: [
          {
            namespace: 'istio-ingress',
            name: 'ingress',
            kind: 'injected',
            revision: FROM,
            labels: { istio: 'ingressgateway' },
          },
          { namespace: 'istio-egress', name: 'egress', kind: 'injected', revision: 'prod-stable', labels: {} },
          { namespace: 'shop', name: 'shop-istio', kind: 'gateway-api', gatewayName: 'shop', revision: FROM },
          { namespace: 'done', name: 'moved', kind: 'injected', revision: TO },
        ],
      },
      { name: 'dev-1', controlPlanes, workloads: [{ namespace: 'a', kind: 'Deployment', name: 'x', revision: FROM }] },
    ],
  };
  return Inventory.parse(input);
}

const names = (plan: Plan): string[][] =>
  plan.gatewaySteps.map((s) => [s.name, ...s.gateways.map((g) => `${g.cluster}/${g.namespace}/${g.name}`)]);

describe('gateway steps in the plan', () => {
  it('given no gateways section, when planned, then no gateway moves (rollout files from before keep their meaning)', () => {
    const plan = planRollout(newSpec(), newInventory(), { now: NOW });
    expect(plan.gatewaySteps).toEqual([]);
    // and no gateway is a workload unit either
    expect(plan.waves.flatMap((w) => w.workloads.map((x) => x.name)).sort()).toEqual(['api', 'web', 'x']);
  });

  it('given the default steps, then each injected gateway on `from` (a tag resolved) moves 10%, 50%, 100%, then the Gateway API ones', () => {
    const plan = planRollout(newSpec({ gateways: {} }), newInventory(), { now: NOW });
    expect(names(plan)).toEqual([
      ['gateways-10%', 'prod-1/istio-egress/egress', 'prod-1/istio-ingress/ingress'],
      ['gateways-50%', 'prod-1/istio-egress/egress', 'prod-1/istio-ingress/ingress'],
      ['gateways-100%', 'prod-1/istio-egress/egress', 'prod-1/istio-ingress/ingress'],
      ['gateway-api', 'prod-1/shop/shop-istio'],
    ]);
    expect(plan.gatewaySteps.map((s) => [s.index, s.kind, s.percent])).toEqual([
      [0, 'injected', 10],
      [1, 'injected', 50],
      [2, 'injected', 100],
      [3, 'gateway-api', 100],
    ]);
  });

  it('then every gateway step starts after the last wave converged and soaked, each held for its soak', () => {
    const plan = planRollout(newSpec({ gateways: { soak: '30m' } }), newInventory(), { now: NOW });
    const lastWave = plan.waves.at(-1)!;
    const wavesDone = Date.parse(lastWave.estimatedConverged) + lastWave.soakSeconds * 1000;
    const starts = plan.gatewaySteps.map((s) => Date.parse(s.earliestStart));
    expect(starts[0]).toBe(wavesDone);
    plan.gatewaySteps.forEach((s, i) => {
      expect(s.soakSeconds).toBe(1800);
      expect(Date.parse(s.estimatedConverged) - Date.parse(s.earliestStart)).toBe(300_000);
      if (i > 0) expect(starts[i]).toBe(Date.parse(plan.gatewaySteps[i - 1]!.estimatedConverged) + 1_800_000);
    });
    expect(plan.estimatedCompletion).toBe(plan.gatewaySteps.at(-1)!.estimatedConverged);
  });

  it('given a selector, then only the gateways it selects move; the steps come from the file', () => {
    const plan = planRollout(
      newSpec({ gateways: { select: { gatewayLabels: { istio: 'ingressgateway' } }, steps: [20, 100] } }),
      newInventory(),
      { now: NOW },
    );
    expect(names(plan)).toEqual([
      ['gateways-20%', 'prod-1/istio-ingress/ingress'],
      ['gateways-100%', 'prod-1/istio-ingress/ingress'],
    ]);
    const none = planRollout(newSpec({ gateways: { select: { clusters: ['dev-*'] } } }), newInventory(), { now: NOW });
    expect(none.gatewaySteps).toEqual([]);
  });

  it('given gateway steps past the deadline, then the plan misses it and names the step', () => {
    const plan = planRollout(newSpec({ deadline: '2026-11-23T11:00:00Z', gateways: { soak: '2h' } }), newInventory(), {
      now: NOW,
    });
    expect(plan.feasible).toBe(false);
    expect(plan.problems.filter((p) => p.code === 'DEADLINE_MISSED').map((p) => p.wave)).toContain('gateways-50%');
  });

  it('given a cluster where only gateways move and `to` is not installed, then the plan is refused there', () => {
    const inv = newInventory();
    const prod = inv.clusters[0]!;
    prod.workloads = prod.workloads.map((w) => ({ ...w, revision: TO }));
    prod.controlPlanes = [controlPlanes[0]!];
    const plan = planRollout(newSpec({ gateways: {} }), inv, { now: NOW });
    expect(plan.problems.find((p) => p.code === 'CONTROL_PLANE_MISSING')?.cluster).toBe('prod-1');
  });

  it('then `meshwave plan` lists each gateway step with its gateways', () => {
    const table = formatPlanTable(planRollout(newSpec({ gateways: {} }), newInventory(), { now: NOW }));
    expect(table).toContain('gateway steps (4), after the waves:');
    expect(table).toMatch(/gateways-50%\s+50% on to/);
    expect(table).toContain('prod-1/shop/shop-istio (gateway-api)');
  });

  it('a plan stored before gateways reads with no gateway steps', () => {
    const { gatewaySteps: _, ...old } = planRollout(newSpec(), newInventory(), { now: NOW });
    expect(Plan.parse(old).gatewaySteps).toEqual([]);
  });
});
