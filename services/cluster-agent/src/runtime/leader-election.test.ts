import { describe, expect, it } from 'vitest';
import { createManualClock } from '@meshwave/reconcile';
import { startLeaderElection } from './leader-election.js';
import { createSimulatedCluster } from '../adapters/simulated-cluster.js';

describe('leader election on a Lease', () => {
  it('one of two replicas leads; when it stops the other takes over with a higher epoch', async () => {
    const clock = createManualClock();
    const sim = createSimulatedCluster({ clock });
    const epochs: Record<string, number[]> = { a: [], b: [] };
    const elect = (id: 'a' | 'b') =>
      startLeaderElection({
        port: sim,
        namespace: 'meshwave',
        name: 'agent',
        identity: id,
        clock,
        onStartedLeading: (e) => epochs[id]?.push(e),
        onStoppedLeading: () => {},
      });
    const a = elect('a');
    await clock.advance(100);
    const b = elect('b');
    await clock.advance(10_000);
    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
    await a.stop();
    await clock.advance(3_000);
    expect(b.isLeader()).toBe(true);
    expect(epochs.a).toEqual([1]);
    expect(epochs.b).toEqual([2]);
    await b.stop();
    sim.close();
  });

  it('a crashed leader (no release) is replaced after the lease duration, not before', async () => {
    const clock = createManualClock();
    const frozen = createManualClock(); // the crashed replica's time never moves again: it never renews
    const sim = createSimulatedCluster({ clock });
    startLeaderElection({
      port: sim,
      namespace: 'm',
      name: 'l',
      identity: 'a',
      clock: frozen,
      onStartedLeading: () => {},
      onStoppedLeading: () => {},
    });
    await frozen.advance(10);
    expect((await sim.getLease('m', 'l'))?.holderIdentity).toBe('a');
    let bEpoch = 0;
    const b = startLeaderElection({
      port: sim,
      namespace: 'm',
      name: 'l',
      identity: 'b',
      clock,
      onStartedLeading: (e) => (bEpoch = e),
      onStoppedLeading: () => {},
    });
    await clock.advance(10_000);
    expect(b.isLeader()).toBe(false);
    await clock.advance(10_000);
    expect(b.isLeader()).toBe(true);
    expect(bEpoch).toBe(2);
    await b.stop();
    sim.close();
  });
});
