import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock } from '@meshwave/reconcile';
import { IstioLabel } from '@meshwave/istio';
import { createSimulatedCluster, type SimulatedCluster } from '../adapters/simulated-cluster.js';
import { ClusterCache } from './cluster-cache.js';
import { InventoryBook } from './inventory.js';

const OLD = '1-24-5';
const NEW = '1-25-2';

const sims: SimulatedCluster[] = [];
afterEach(() => {
  for (const s of sims.splice(0)) s.close();
});

async function newCluster(): Promise<{ sim: SimulatedCluster; book: InventoryBook }> {
  const sim = createSimulatedCluster({ name: 'c1', clock: createManualClock(), revisions: [OLD, NEW] });
  sims.push(sim);
  sim.createNamespace('shop', { [IstioLabel.Revision]: OLD });
  sim.createNamespace('istio-ingress');
  sim.createWorkload({ namespace: 'shop', name: 'web', replicas: 2 });
  sim.createWorkload({
    namespace: 'istio-ingress',
    name: 'ingress',
    replicas: 3,
    labels: { app: 'ingress', istio: 'ingressgateway' },
    templateLabels: { istio: 'ingressgateway', [IstioLabel.Revision]: OLD },
    templateAnnotations: { 'inject.istio.io/templates': 'gateway' },
  });
  sim.createWorkload({
    namespace: 'shop',
    name: 'shop-istio',
    templateLabels: { 'gateway.networking.k8s.io/gateway-name': 'shop' },
  });
  const listener: { book?: InventoryBook } = {};
  const cache = new ClusterCache((change) => listener.book?.note(change));
  const book = (listener.book = new InventoryBook(cache));
  cache.start(sim);
  await cache.whenSynced();
  book.refresh();
  return { sim, book };
}

describe('gateways in the agent inventory (ADR 0047)', () => {
  it('Given gateway Deployments beside a workload, Then they are reported as gateways and never as workloads', async () => {
    const { book } = await newCluster();
    expect(book.workloads().map((w) => w.name)).toEqual(['web']);
    expect(book.gateways().map((g) => [g.namespace, g.name, g.kind, g.gatewayName, g.revision, g.replicas])).toEqual([
      ['istio-ingress', 'ingress', 'injected', undefined, OLD, 3],
      ['shop', 'shop-istio', 'gateway-api', 'shop', OLD, 1],
    ]);
  });

  it('Given a canary copy beside a gateway, Then it is the gateway’s canary; a copy without its gateway is a gateway', async () => {
    const { sim, book } = await newCluster();
    sim.createWorkload({
      namespace: 'istio-ingress',
      name: `ingress-${NEW}`,
      replicas: 1,
      labels: { 'meshwave.io/gateway-canary-of': 'ingress', 'meshwave.io/gateway-replicas': '3' },
      templateLabels: { istio: 'ingressgateway', [IstioLabel.Revision]: NEW, 'meshwave.io/gateway-revision': NEW },
    });
    await new Promise((r) => setTimeout(r, 1));
    expect(book.refresh()).toBe(true);
    expect(book.takeChanges().gateways).toBe(true);
    const [ingress] = book.gateways();
    expect(ingress?.canary).toMatchObject({ name: `ingress-${NEW}`, revision: NEW, replicas: 1 });
    expect(book.gateways()).toHaveLength(2);
    expect(book.workloads().map((w) => w.name)).toEqual(['web']);

    // a copy whose gateway is gone (removed at its last step) is the gateway now
    sim.createWorkload({
      namespace: 'istio-ingress',
      name: `gone-${NEW}`,
      labels: { 'meshwave.io/gateway-canary-of': 'gone', 'meshwave.io/gateway-replicas': '1' },
      templateLabels: { [IstioLabel.Revision]: NEW, 'meshwave.io/gateway-revision': NEW },
    });
    await new Promise((r) => setTimeout(r, 1));
    expect(book.refresh()).toBe(true);
    expect(book.gateways().map((g) => [g.name, g.revision, g.canary?.name])).toEqual([
      [`gone-${NEW}`, NEW, undefined],
      ['ingress', OLD, `ingress-${NEW}`],
      ['shop-istio', OLD, undefined],
    ]);
  });
});
