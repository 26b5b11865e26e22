import { describe, expect, it } from 'vitest';
import { Inventory, InventoryReport } from './index.js';

const gateway = { namespace: 'istio-ingress', name: 'istio-ingressgateway', kind: 'injected', revision: '1-24-5' };

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
