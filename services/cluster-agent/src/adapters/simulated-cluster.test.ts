import { describe, expect, it } from 'vitest';
import { createManualClock } from '@meshwave/reconcile';
import { kubernetesPortScenarios, type PortScenarioFixture } from '../ports/port-scenarios.js';
import { createSimulatedCluster } from './simulated-cluster.js';
import { IstioLabel, injectedRevisionOf } from '@meshwave/istio';

function newSimulatedFixture(): PortScenarioFixture & { close(): void } {
  const clock = createManualClock();
  const sim = createSimulatedCluster({ clock, podStartMs: 1000, revisions: ['1-24-5', '1-25-2'] });
  let n = 0;
  return {
    port: sim,
    revisions: ['1-24-5', '1-25-2'],
    uniqueName: (prefix) => `${prefix}-${n++}`,
    createNamespace: async (name, labels) => void sim.createNamespace(name, labels),
    createWorkload: async (spec) => void sim.createWorkload(spec),
    createBarePod: async (ns, name, labels) => void sim.createBarePod(ns, name, labels),
    async eventually(what, check) {
      for (let i = 0; i < 120; i++) {
        if (await check()) return;
        await clock.advance(500);
      }
      throw new Error(`never happened: ${what}`);
    },
    close: () => sim.close(),
  };
}

describe('simulated cluster: the KubernetesPort scenario suite', () => {
  for (const scenario of kubernetesPortScenarios) {
    it(scenario.name, async () => {
      const f = newSimulatedFixture();
      try {
        await scenario.run(f);
      } finally {
        f.close();
      }
    });
  }
});

describe('simulated cluster: injection and faults', () => {
  it('injects by the namespace label first and the pod label only when the namespace has none', () => {
    const sim = createSimulatedCluster({ revisions: ['1-24-5', '1-25-2'] });
    sim.createNamespace('labelled', { [IstioLabel.Revision]: '1-24-5' });
    sim.createNamespace('plain');
    sim.createWorkload({ namespace: 'labelled', name: 'a', templateLabels: { [IstioLabel.Revision]: '1-25-2' } });
    sim.createWorkload({ namespace: 'plain', name: 'b', templateLabels: { [IstioLabel.Revision]: '1-25-2' } });
    sim.createWorkload({ namespace: 'plain', name: 'c', templateLabels: { [IstioLabel.Revision]: '9-9-9' } });
    const revisionOf = async (ns: string, app: string): Promise<string | null> => {
      const pods = await sim.listPods(ns);
      return injectedRevisionOf(pods.find((p) => p.labels.app === app)?.annotations);
    };
    return Promise.all([revisionOf('labelled', 'a'), revisionOf('plain', 'b'), revisionOf('plain', 'c')]).then(
      (revs) => {
        expect(revs).toEqual(['1-24-5', '1-25-2', null]);
        sim.close();
      },
    );
  });

  it('a workload that crash-loops on a revision stalls its rollout and keeps its old pods', async () => {
    const clock = createManualClock();
    const sim = createSimulatedCluster({
      clock,
      podStartMs: 1000,
      progressDeadlineSeconds: 30,
      faults: { crashLoop: [{ namespace: 'shop', name: 'cart', revision: '1-25-2' }] },
    });
    sim.createNamespace('shop', { [IstioLabel.Revision]: '1-24-5' });
    sim.createWorkload({ namespace: 'shop', name: 'cart', replicas: 2 });
    await sim.patchNamespace('shop', { labels: { [IstioLabel.Revision]: '1-25-2' } });
    await sim.patchWorkload(
      { namespace: 'shop', kind: 'Deployment', name: 'cart' },
      { templateAnnotations: { restart: '1' } },
    );
    await clock.advance(31_000);
    const w = await sim.getWorkload({ namespace: 'shop', kind: 'Deployment', name: 'cart' });
    const pods = await sim.listPods('shop');
    expect(w?.progressDeadlineExceeded).toBe(true);
    expect(w?.availableReplicas).toBe(2);
    expect(pods.filter((p) => p.crashLooping).length).toBe(1);
    sim.close();
  });

  it('counts the workloads whose rollout is under way, and the most at once, as the apiserver side sees them', async () => {
    const clock = createManualClock();
    const sim = createSimulatedCluster({ clock, podStartMs: 1000 });
    sim.createNamespace('shop');
    for (const name of ['a', 'b', 'c']) sim.createWorkload({ namespace: 'shop', name, replicas: 4 });
    const restart = (name: string, n: string): Promise<unknown> =>
      sim.patchWorkload({ namespace: 'shop', kind: 'Deployment', name }, { templateAnnotations: { restart: n } });
    await restart('a', '1');
    await restart('b', '1');
    await restart('a', '2'); // a new template of a rollout under way is still one workload restarting
    expect(sim.stats()).toMatchObject({ restarting: 2, peakRestarting: 2 });
    await clock.advance(10_000);
    expect(sim.stats()).toMatchObject({ restarting: 0, peakRestarting: 2 });
    await restart('c', '1');
    expect(sim.stats()).toMatchObject({ restarting: 1, peakRestarting: 2 });
    await clock.advance(10_000);
    expect(sim.stats()).toMatchObject({ restarting: 0, peakRestarting: 2 });
    sim.close();
  });

  it('the sidecar-mismatch fault ships a proxy of another version', async () => {
    const sim = createSimulatedCluster({
      faults: { sidecarMismatch: [{ namespace: 'x', revision: '1-25-2', version: '1.24.5' }] },
    });
    sim.createNamespace('x', { [IstioLabel.Revision]: '1-25-2' });
    sim.createWorkload({ namespace: 'x', name: 'a' });
    const [pod] = await sim.listPods('x');
    expect(pod?.containers.find((c) => c.name === 'istio-proxy')?.image).toBe('docker.io/istio/proxyv2:1.24.5');
    expect(injectedRevisionOf(pod?.annotations)).toBe('1-25-2');
    sim.close();
  });
});
