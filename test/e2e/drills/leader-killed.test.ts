// Drill: the leading planner killed (SIGKILL) at three random points of one rollout, on the whole fleet as
// processes. The apiserver watch and the agents' own logs decide, not the planner.
import { describe, expect, it } from 'vitest';
import { drillRandom } from '../../support/drill-random.ts';
import { eventually } from '../../support/eventually.ts';
import { rolloutStatus, waitForLeader, waitForPhase } from '../../support/fleet-api.ts';
import { expectConvergedExactlyOnce, startDrillRollout, useFleet } from '../../support/fleet-drill.ts';
import { acceptedCommands, staleAccepted } from '../../support/fleet-observers.ts';
import { fleetVerdict, reportDrill, restartHistogram } from '../../support/fleet-verdict.ts';

const drill = useFleet({ namespacesPerCluster: 3, deploymentsPerNamespace: 2 });

describe('drill: leader killed', () => {
  it('Given two planner replicas driving the fleet, When the leader is SIGKILLed at three random points of a rollout, Then the standby takes over each time, the rollout completes, every Deployment restarted exactly once and no command of a dead leader is applied', async () => {
    const f = drill.fleet();
    const o = drill.observers();
    const total = f.clusters.reduce((n, c) => n + c.deployments.length, 0);
    const random = drillRandom();
    // three distinct points, in the first two thirds of the Deployments moved, so each lands mid-rollout
    const points = random.distinct(3, 1, Math.floor((total * 2) / 3)).sort((a, b) => a - b);
    const { api, id, started } = await startDrillRollout(f, { name: `leader-killed-${f.id}`, soak: '2s' });

    const takeovers: { killed: string; epochBefore: number; epochAfter: number; takeoverMs: number; at: number }[] = [];
    for (const point of points) {
      await eventually(`${point} Deployments moved`, () => o.movedToNew() >= point, 180_000);
      const leader = await waitForLeader(f);
      const phase = (await rolloutStatus(api, id)).phase;
      expect(phase, `the kill at ${point} moved Deployments must land mid-rollout`).toBe('Running');
      const killedAt = Date.now();
      await leader.process.kill('SIGKILL');
      const next = await waitForLeader(f, leader.process, 90_000);
      takeovers.push({
        killed: leader.process.name,
        epochBefore: leader.epoch,
        epochAfter: next.epoch,
        takeoverMs: Date.now() - killedAt,
        at: point,
      });
      expect(next.epoch).toBeGreaterThan(leader.epoch);
      leader.process.restart(); // its Deployment replaces the pod
    }
    await waitForPhase(api, id, ['Completed'], 300_000);
    const verdict = await fleetVerdict(f, o);
    const stale = [...f.agents.values(), f.bridge].flatMap((p) => staleAccepted(acceptedCommands(p)));
    reportDrill('leader-killed', {
      seed: random.seed,
      killPoints: points,
      takeovers,
      restarts: restartHistogram(verdict.restarts),
      refusals: o.bus.refusalsByReason(),
      dlq: o.bus.deadLettersByReason(),
      wallMs: Date.now() - started,
    });
    expectConvergedExactlyOnce(verdict);
    expect(stale, 'commands accepted after one of a newer epoch').toEqual([]);
  });
});
