import { afterEach, describe, expect, it, vi } from 'vitest';
import { InventoryWorkload } from '@meshwave/contracts';
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

/**
 * A namespace of `workloads` workloads with 3 pods each (and what `more` creates), an agent cache on it and the
 * inventory it keeps.
 */
async function newInventory(
  workloads: number,
  more: (sim: SimulatedCluster) => void = () => undefined,
): Promise<{ sim: SimulatedCluster; cache: ClusterCache; book: InventoryBook }> {
  const sim = createSimulatedCluster({ name: 'c1', clock: createManualClock(), revisions: [OLD, NEW] });
  sims.push(sim);
  sim.createNamespace('shop', { [IstioLabel.Revision]: OLD });
  for (let i = 0; i < workloads; i++) sim.createWorkload({ namespace: 'shop', name: `app-${i}`, replicas: 3 });
  more(sim);
  const listener: { book?: InventoryBook } = {};
  const cache = new ClusterCache((change) => listener.book?.note(change));
  const book = (listener.book = new InventoryBook(cache));
  cache.start(sim);
  await cache.whenSynced();
  book.refresh();
  return { sim, cache, book };
}

/** What one pod replaced in the namespace costs the inventory, by counts (no timing). */
async function costOfOnePodChange(
  workloads: number,
): Promise<{ evaluations: number; visited: number; entries: number }> {
  const { sim, cache, book } = await newInventory(workloads);
  expect(book.workloads()).toHaveLength(workloads);
  const before = { ...cache.indexStats, entries: book.entriesComputed };
  sim.deletePod('shop', (await sim.listPods('shop')).find((p) => p.labels.app === 'app-7')!.name);
  await new Promise((r) => setTimeout(r, 1)); // the simulated watch delivers asynchronously
  expect(book.refresh()).toBe(false); // a replaced pod on the same revision changes nothing the inventory says
  return {
    evaluations: cache.indexStats.selectorEvaluations - before.selectorEvaluations,
    visited: cache.indexStats.podsVisited - before.podsVisited,
    entries: book.entriesComputed - before.entries,
  };
}

describe('the agent inventory from indexes', () => {
  it('Given namespaces of 20 and 400 workloads, When one pod is replaced, Then the work is the same: that workload only', async () => {
    const small = await costOfOnePodChange(20);
    const large = await costOfOnePodChange(400);
    // the deleted pod and its replacement: one selector evaluation each, no namespace scan, one entry recomputed
    expect(large).toEqual(small);
    expect(large.visited).toBe(0);
    expect(large.evaluations).toBeLessThanOrEqual(2);
    expect(large.entries).toBe(1);
  });

  it('Given a running inventory, When pods are replaced on the same revision, Then no entry is validated again (issue 15)', async () => {
    const { sim, book } = await newInventory(20);
    const byName = () => [...book.workloads()].sort((a, b) => a.name.localeCompare(b.name));
    const before = byName();
    const validations = vi.spyOn(InventoryWorkload, 'safeParse');
    try {
      for (const name of ['app-3', 'app-7', 'app-11']) {
        const pod = (await sim.listPods('shop')).find((p) => p.labels.app === name)!;
        sim.deletePod('shop', pod.name);
      }
      await new Promise((r) => setTimeout(r, 1));
      // a replaced pod on the same revision changes nothing the entry is made of: it is kept as it was
      expect(book.refresh()).toBe(false);
      expect(validations).not.toHaveBeenCalled();
      expect(byName()).toEqual(before);
      // while a change of what the entry says is still seen
      await sim.patchNamespace('shop', { labels: { [IstioLabel.Revision]: NEW } });
      await new Promise((r) => setTimeout(r, 1));
      expect(book.refresh()).toBe(true);
      // what changed is the revisions alone: the rest of each entry was validated and stands (20 before)
      expect(validations).not.toHaveBeenCalled();
      expect(book.revisionsRenewed).toBe(20);
      expect(new Set(book.workloads().map((w) => w.revision))).toEqual(new Set([NEW]));
    } finally {
      validations.mockRestore();
    }
  });

  it('Given a running inventory, When a namespace is relabelled, Then its workloads carry the new assigned revision', async () => {
    const { sim, book } = await newInventory(3);
    expect(new Set(book.workloads().map((w) => w.revision))).toEqual(new Set([OLD]));
    await sim.patchNamespace('shop', { labels: { [IstioLabel.Revision]: NEW } });
    await new Promise((r) => setTimeout(r, 1));
    expect(book.refresh()).toBe(true);
    expect(book.workloads().map((w) => [w.name, w.revision, w.injectedRevision])).toEqual([
      ['app-0', NEW, OLD],
      ['app-1', NEW, OLD],
      ['app-2', NEW, OLD],
    ]);
  });

  it('Given a running inventory, When a revision name the contract refuses is assigned, Then the entries say none, as a whole validation does', async () => {
    const { sim, book } = await newInventory(3);
    await sim.patchNamespace('shop', { labels: { [IstioLabel.Revision]: 'Not_A_Revision' } });
    await new Promise((r) => setTimeout(r, 1));
    expect(book.refresh()).toBe(true);
    expect(book.workloads().map((w) => [w.name, w.revision, w.injectedRevision])).toEqual([
      ['app-0', null, OLD],
      ['app-1', null, OLD],
      ['app-2', null, OLD],
    ]);
  });

  it('Given a running inventory, When the labels of a workload change, Then its entry is validated again', async () => {
    const { sim, book } = await newInventory(3);
    const validations = vi.spyOn(InventoryWorkload, 'safeParse');
    try {
      await sim.patchWorkload({ namespace: 'shop', kind: 'Deployment', name: 'app-1' }, { labels: { team: 'blue' } });
      await new Promise((r) => setTimeout(r, 1));
      expect(book.refresh()).toBe(true);
      expect(validations).toHaveBeenCalledTimes(1);
      expect(book.workloads().find((w) => w.name === 'app-1')?.labels).toMatchObject({ team: 'blue' });
    } finally {
      validations.mockRestore();
    }
  });

  it('Given a workload deleted or created, Then the inventory drops or adds it alone', async () => {
    const { sim, cache, book } = await newInventory(5);
    const entries = book.entriesComputed;
    sim.createWorkload({ namespace: 'shop', name: 'new-app', replicas: 2 });
    await new Promise((r) => setTimeout(r, 1));
    expect(book.refresh()).toBe(true);
    expect(book.workloads().map((w) => w.name)).toContain('new-app');
    expect(book.entriesComputed - entries).toBeLessThanOrEqual(3); // the workload and its two pods' owner: itself
    expect([...cache.podsOf({ namespace: 'shop', kind: 'Deployment', name: 'new-app' })]).toHaveLength(2);
  });
});

/** A gateway of Istio's gateway charts in its own namespace, and a Gateway API gateway beside the workloads. */
const withGateways = (sim: SimulatedCluster): void => {
  sim.createNamespace('istio-ingress');
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
};

describe('gateways in the agent inventory (ADR 0047)', () => {
  it('Given gateway Deployments beside a workload, Then they are reported as gateways and never as workloads', async () => {
    const { book } = await newInventory(1, withGateways);
    expect(book.workloads().map((w) => w.name)).toEqual(['app-0']);
    expect(book.gateways().map((g) => [g.namespace, g.name, g.kind, g.gatewayName, g.revision, g.replicas])).toEqual([
      ['istio-ingress', 'ingress', 'injected', undefined, OLD, 3],
      ['shop', 'shop-istio', 'gateway-api', 'shop', OLD, 1],
    ]);
  });

  it('Given a canary copy beside a gateway, Then it is the gateway’s canary; a copy without its gateway is a gateway', async () => {
    const { sim, book } = await newInventory(1, withGateways);
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
    expect(book.workloads().map((w) => w.name)).toEqual(['app-0']);

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

describe('waypoints in the agent inventory (ADR 0057)', () => {
  it('Given the Deployment istiod runs for a waypoint beside a Gateway API gateway, Then the waypoint is neither a gateway nor a workload', async () => {
    const { book } = await newInventory(1, (sim) => {
      // as istiod renders them: both labelled with their Gateway's name; `gateway.istio.io/managed` tells them apart
      const managed = (by: string, gateway: string): Record<string, string> => ({
        'gateway.networking.k8s.io/gateway-name': gateway,
        'gateway.istio.io/managed': by,
      });
      sim.createWorkload({
        namespace: 'shop',
        name: 'waypoint',
        labels: managed('istio.io-mesh-controller', 'waypoint'),
        templateLabels: { ...managed('istio.io-mesh-controller', 'waypoint'), 'sidecar.istio.io/inject': 'false' },
      });
      sim.createWorkload({
        namespace: 'shop',
        name: 'shop-istio',
        labels: managed('istio.io-gateway-controller', 'shop'),
        templateLabels: managed('istio.io-gateway-controller', 'shop'),
      });
    });
    expect(book.gateways().map((g) => [g.name, g.kind, g.gatewayName])).toEqual([
      ['shop-istio', 'gateway-api', 'shop'],
    ]);
    expect(book.workloads().map((w) => w.name)).toEqual(['app-0']);
  });
});

describe('node agents in the agent inventory (ADR 0051)', () => {
  it('Given ztunnel and istio-cni DaemonSets beside a workload, Then they are never reported as workloads', async () => {
    const { book } = await newInventory(1, (sim) => {
      sim.createWorkload({ namespace: 'shop', kind: 'DaemonSet', name: 'ztunnel', templateLabels: { app: 'ztunnel' } });
      sim.createWorkload({
        namespace: 'shop',
        kind: 'DaemonSet',
        name: 'istio-cni-node',
        templateLabels: { 'k8s-app': 'istio-cni-node' },
      });
      sim.createWorkload({ namespace: 'shop', kind: 'DaemonSet', name: 'fluentd' });
    });
    expect(
      book
        .workloads()
        .map((w) => w.name)
        .sort(),
    ).toEqual(['app-0', 'fluentd']);
  });
});
