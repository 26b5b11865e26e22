import { describe, expect, it } from 'vitest';
import { InvalidInputError, Inventory, InventoryReport, parseRolloutSpec } from './index.js';

const SPEC = `apiVersion: meshwave.io/v1alpha1
kind: Rollout
metadata: { name: gw }
spec:
  from: 1-24-5
  to: 1-25-2
  deadline: "2027-03-01T00:00:00Z"
  waves: [{ name: all }]
`;

function problemsOf(text: string): InvalidInputError['problems'] {
  try {
    parseRolloutSpec(text, 'rollouts.yml');
  } catch (err) {
    if (err instanceof InvalidInputError) return err.problems;
    throw err;
  }
  throw new Error('expected the spec to be refused');
}

const gateway = { namespace: 'istio-ingress', name: 'istio-ingressgateway', kind: 'injected', revision: '1-24-5' };

describe('the rollout file gateways section', () => {
  it('is absent unless written: a rollout file from before gateways keeps its meaning', () => {
    expect(parseRolloutSpec(SPEC).spec.gateways).toBeUndefined();
  });

  it('defaults to steps of 10%, 50%, 100% and an empty selector', () => {
    const spec = parseRolloutSpec(`${SPEC}  gateways: {}\n`);
    expect(spec.spec.gateways).toEqual({ select: {}, steps: [10, 50, 100] });
  });

  it('reads a selector, steps and a soak', () => {
    const text = `${SPEC}  gateways:\n    select: { namespaces: [istio-*], gatewayLabels: { istio: ingressgateway } }\n    steps: [25, 100]\n    soak: 10m\n`;
    expect(parseRolloutSpec(text).spec.gateways).toEqual({
      select: { namespaces: ['istio-*'], gatewayLabels: { istio: 'ingressgateway' } },
      steps: [25, 100],
      soak: 600,
    });
  });

  it('refuses steps that do not increase, with the step path, line and column', () => {
    const text = `${SPEC}  gateways:\n    steps: [10, 50, 50, 100]\n`;
    const [p] = problemsOf(text);
    expect(p).toMatchObject({
      path: 'spec.gateways.steps[2]',
      message: 'steps must increase: 50% is not above the step before it (50%)',
    });
    expect(p!.line).toBe(text.split('\n').findIndex((l) => l.includes('steps:')) + 1);
  });

  it('refuses a last step below 100, a share out of range, too many steps and an unknown field', () => {
    expect(problemsOf(`${SPEC}  gateways: { steps: [10, 50] }\n`)).toMatchObject([
      { path: 'spec.gateways.steps[1]', message: 'the last step must be 100 (every replica of each gateway on `to`)' },
    ]);
    expect(problemsOf(`${SPEC}  gateways: { steps: [0, 100] }\n`)).toMatchObject([
      { path: 'spec.gateways.steps[0]', message: 'at least 1%' },
    ]);
    expect(problemsOf(`${SPEC}  gateways: { steps: [10, 100.5] }\n`).map((p) => p.path)).toContain(
      'spec.gateways.steps[1]',
    );
    const eleven = Array.from({ length: 11 }, (_, i) => (i + 1) * 9 + 1).join(', ');
    expect(problemsOf(`${SPEC}  gateways: { steps: [${eleven}] }\n`).map((p) => p.message)).toContain(
      'at most 10 steps',
    );
    expect(problemsOf(`${SPEC}  gateways: { selector: {} }\n`)).toMatchObject([
      { path: 'spec.gateways.selector', message: 'unknown field "selector"' },
    ]);
  });
});

describe('gateways in the inventory', () => {
  it('loads an inventory without gateways (older agents and files)', () => {
    const inv = Inventory.parse({ clusters: [{ name: 'c1', workloads: [] }] });
    expect(inv.clusters[0]!.gateways).toBeUndefined();
  });

  it('reads gateways apart from workloads, with the canary copy beside one', () => {
    const inv = Inventory.parse({
      clusters: [
        {
          name: 'c1',
          gateways: [
            {
              ...gateway,
              replicas: 4,
              canary: { name: 'istio-ingressgateway-1-25-2', revision: '1-25-2', replicas: 2, readyReplicas: 2 },
            },
            { namespace: 'web', name: 'shop-istio', kind: 'gateway-api', gatewayName: 'shop', revision: 'prod' },
          ],
        },
      ],
    });
    expect(inv.clusters[0]!.gateways!.map((g) => [g.name, g.kind, g.replicas])).toEqual([
      ['istio-ingressgateway', 'injected', 4],
      ['shop-istio', 'gateway-api', 1],
    ]);
  });

  it('refuses a gateway also listed as a workload, and a gateway listed twice', () => {
    const result = Inventory.safeParse({
      clusters: [
        {
          name: 'c1',
          workloads: [{ namespace: 'istio-ingress', kind: 'Deployment', name: 'istio-ingressgateway', revision: null }],
          gateways: [gateway, { ...gateway, namespace: 'other' }, { ...gateway, namespace: 'other' }],
        },
      ],
    });
    expect(result.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      [
        'clusters.0.gateways.0',
        'gateway istio-ingress/istio-ingressgateway is also listed as a workload: a gateway belongs in `gateways` only',
      ],
      ['clusters.0.gateways.2', 'duplicate gateway other/istio-ingressgateway'],
    ]);
  });

  it('travels in an agent report, and a report without gateways still validates', () => {
    const base = { cluster: 'c1', generation: 1, workloads: [] };
    expect(InventoryReport.parse({ ...base, gateways: [gateway] }).gateways).toHaveLength(1);
    expect(InventoryReport.parse(base).gateways).toBeUndefined();
  });
});
