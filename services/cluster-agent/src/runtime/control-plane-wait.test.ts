import { afterEach, describe, expect, it } from 'vitest';
import { createInMemoryBroker, createInMemoryBus } from '@meshwave/bus';
import { MessageType, UnitState, UnitWaitReason, clusterKey, type ClusterDesiredState } from '@meshwave/contracts';
import { IstioLabel } from '@meshwave/istio';
import { createManualClock } from '@meshwave/reconcile';
import { createSimulatedCluster } from '../adapters/simulated-cluster.js';
import { createClusterAgent, type ClusterAgent } from './cluster-agent.js';

const SIGNING = { keys: [{ id: 'k1', secret: 'x'.repeat(32) }], activeKeyId: 'k1' };
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

describe('an agent told to move units onto a revision whose control plane is not there', () => {
  it('Given only 1-24-5 installed, When told to move a namespace to 1-25-2, Then it restarts nothing and reports ControlPlaneNotReady', async () => {
    const clock = createManualClock();
    const now = (): number => clock.now();
    const sim = createSimulatedCluster({ name: 'c1', clock, revisions: ['1-24-5'] });
    sim.createNamespace('shop', { [IstioLabel.Revision]: '1-24-5' });
    sim.createWorkload({ namespace: 'shop', name: 'web', replicas: 2 });
    const broker = createInMemoryBroker();
    const planner = createInMemoryBus({ source: 'planner', signing: SIGNING, broker, now });
    const agentBus = createInMemoryBus({ source: clusterKey('c1'), signing: SIGNING, broker, now });
    const agent: ClusterAgent = createClusterAgent({ cluster: 'c1', kubernetes: sim, bus: agentBus, clock });
    closers.push(async () => {
      await agent.stop();
      sim.close();
      await Promise.all([planner.close(), agentBus.close()]);
    });
    await agent.start();
    const command: ClusterDesiredState = {
      ...{ rolloutId: 'r1', wave: 0, generation: 1, epoch: 1, cluster: 'c1', from: '1-24-5', to: '1-25-2' },
      ...{ granularity: 'namespace', maxUnavailable: 1, halted: false, progressDeadlineSeconds: 600 },
      units: [{ namespace: 'shop', revision: '1-25-2' }],
    };
    await planner.publish([
      {
        topic: 'commands',
        key: clusterKey('c1'),
        type: MessageType.ClusterDesiredState,
        data: command,
        audience: clusterKey('c1'),
      },
    ]);
    for (let i = 0; i < 100 && agent.units()[0]?.reason === undefined; i++) {
      await clock.advance(100);
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(agent.units()[0]).toMatchObject({
      state: UnitState.Pending,
      reason: UnitWaitReason.ControlPlaneNotReady,
      message: 'no istiod of revision 1-25-2 in istio-system',
    });
    expect(sim.stats().patches).toBe(0);
    expect((await sim.listNamespaces()).find((n) => n.name === 'shop')?.labels[IstioLabel.Revision]).toBe('1-24-5');
  });
});
