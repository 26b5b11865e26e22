import { describe, expect, it } from 'vitest';
import { createManualClock } from '@meshwave/reconcile';
import { IstioLabel, injectedRevisionOf } from '@meshwave/istio';
import type { PodView } from '../ports/kubernetes-port.js';
import { createSimulatedCluster, type SimulatedCluster } from './simulated-cluster.js';

/** The simulated cluster's indexes: reads cost what they return, and stay right through every write. */

const REPLICAS = 2;

function newCrowdedCluster(): SimulatedCluster {
  const sim = createSimulatedCluster({ revisions: ['1-24-5', '1-25-2'] });
  sim.createNamespace('crowded', { [IstioLabel.Revision]: '1-24-5' });
  for (let i = 0; i < 200; i++) sim.createWorkload({ namespace: 'crowded', name: `w${i}`, replicas: REPLICAS });
  sim.createWorkload({ namespace: 'small', name: 'only', replicas: REPLICAS });
  return sim;
}

const visitedBy = async (sim: SimulatedCluster, read: () => unknown): Promise<number> => {
  const before = sim.stats().objectsVisited;
  await read();
  return sim.stats().objectsVisited - before;
};

const names = (pods: readonly PodView[]): string[] => pods.map((p) => p.name).sort();

describe('simulated cluster: indexed reads', () => {
  it('a workload lookup reads that workload and its pods only, in a namespace of 200 workloads', async () => {
    const sim = newCrowdedCluster();
    const ref = { namespace: 'crowded', kind: 'Deployment', name: 'w7' } as const;
    expect(await visitedBy(sim, () => sim.podsOfWorkload(ref))).toBe(REPLICAS);
    // the workload itself, and its pods for its status
    expect(await visitedBy(sim, () => sim.workloadsIn('crowded', 'w7'))).toBe(1 + REPLICAS);
    sim.close();
  });

  it('listing a namespace reads that namespace, not the cluster', async () => {
    const sim = newCrowdedCluster();
    expect(await visitedBy(sim, () => sim.listPods('small'))).toBe(REPLICAS);
    expect(await visitedBy(sim, () => sim.listWorkloads('small'))).toBe(1 + REPLICAS);
    expect(await visitedBy(sim, () => sim.workloadsIn('small'))).toBe(1 + REPLICAS);
    sim.close();
  });

  it('the indexes follow rollouts, pod deletions and replacements', async () => {
    const clock = createManualClock();
    const sim = createSimulatedCluster({ clock, podStartMs: 1000, revisions: ['1-24-5', '1-25-2'] });
    sim.createNamespace('shop', { [IstioLabel.Revision]: '1-24-5' });
    sim.createWorkload({ namespace: 'shop', name: 'cart', replicas: 4 });
    sim.createWorkload({ namespace: 'shop', name: 'web', replicas: 1 });
    sim.createBarePod('shop', 'debug', { app: 'cart' });
    sim.createWorkload({ namespace: 'other', name: 'cart', replicas: 1 });
    const cart = { namespace: 'shop', kind: 'Deployment', name: 'cart' } as const;
    await sim.patchNamespace('shop', { labels: { [IstioLabel.Revision]: '1-25-2' } });
    await sim.patchWorkload(cart, { templateAnnotations: { restart: '1' } });
    await clock.advance(500); // mid-rollout: old and new pods side by side
    const [victim] = sim.podsOfWorkload(cart);
    sim.deletePod('shop', victim?.name ?? '');
    await clock.advance(10_000);

    // Each index answers what a scan of every pod would.
    const all = await sim.listPods();
    const owned = all.filter((p) => p.namespace === 'shop' && p.controlled && p.name.startsWith('cart-'));
    expect(names(sim.podsOfWorkload(cart))).toEqual(names(owned));
    expect(owned).toHaveLength(4);
    expect(names(owned)).not.toContain(victim?.name);
    expect(names(await sim.listPods('shop'))).toEqual(names(all.filter((p) => p.namespace === 'shop')));
    expect(sim.workloadsIn('shop', 'cart').map((w) => w.namespace)).toEqual(['shop']);
    expect(
      sim
        .workloadsIn('shop')
        .map((w) => w.name)
        .sort(),
    ).toEqual(['cart', 'web']);
    expect(sim.podsOfWorkload({ ...cart, name: 'absent' })).toEqual([]);
    // the Ready pods by injected revision, kept as pods came, went and became Ready, are what counting them says
    for (const [namespace, name] of [
      ['shop', 'cart'],
      ['shop', 'web'],
      ['other', 'cart'],
    ] as const) {
      const counted = new Map<string | null, number>();
      for (const p of all.filter((x) => x.namespace === namespace && x.controlled && x.name.startsWith(`${name}-`)))
        if (p.ready)
          counted.set(injectedRevisionOf(p.annotations), (counted.get(injectedRevisionOf(p.annotations)) ?? 0) + 1);
      expect(sim.servingPods(namespace, name)).toEqual([
        { name, ready: [...counted.values()].reduce((a, b) => a + b, 0), revisions: counted },
      ]);
    }
    expect(sim.servingPods('shop', 'cart')[0]?.revisions).toEqual(new Map([['1-25-2', 4]]));
    sim.close();
  });

  it("a serving stamp moves when its workloads' Ready pods do, and only then", async () => {
    const clock = createManualClock();
    const sim = createSimulatedCluster({ clock, podStartMs: 1000 });
    sim.createWorkload({ namespace: 'shop', name: 'cart', replicas: 2 });
    sim.createWorkload({ namespace: 'shop', name: 'web', replicas: 1 });
    expect(sim.servingStamp('shop', 'absent')).toBeUndefined();
    expect(sim.servingStamp('nowhere')).toBeUndefined();
    const cart = sim.servingStamp('shop', 'cart')!;
    const shop = sim.servingStamp('shop')!;
    const web = sim.servingStamp('shop', 'web')!;
    const versions = () => [cart.version, shop.version, web.version];
    const [first] = sim.podsOfWorkload({ namespace: 'shop', kind: 'Deployment', name: 'cart' });
    const start = versions();
    sim.deletePod('shop', first?.name ?? '');
    const afterDelete = versions();
    expect(afterDelete[0]).toBeGreaterThan(start[0]!);
    expect(afterDelete[1]).toBeGreaterThan(start[1]!);
    expect(afterDelete[2]).toBe(start[2]);
    // the replacement becomes Ready: cart's answer changes again, web's never did
    await clock.advance(1000);
    expect(cart.version).toBeGreaterThan(afterDelete[0]!);
    expect(web.version).toBe(start[2]);
    expect(sim.servingStamp('shop', 'cart')).toBe(cart);
    sim.close();
  });
});
