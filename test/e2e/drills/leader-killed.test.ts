// Drill: the leading planner killed (SIGKILL) at three random points of one rollout, on the whole fleet as
// processes. The apiserver watch and the agents' own logs decide, not the planner.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, registerInventory, type Fleet } from '../../support/fleet-processes.ts';
import { observeFleet, acceptedCommands, staleAccepted, type FleetObservers } from '../../support/fleet-observers.ts';
import {
  applyRollout,
  drillRolloutYaml,
  fleetApi,
  rolloutStatus,
  waitForLeader,
  waitForPhase,
} from '../../support/fleet-api.ts';
import { fleetVerdict, reportDrill, restartHistogram } from '../../support/fleet-verdict.ts';
import { eventually } from '../../support/eventually.ts';
import { drillRandom } from '../../support/drill-random.ts';

let fleet: Fleet | undefined;
let observers: FleetObservers | undefined;
beforeAll(async () => {
  fleet = await startFleet({ namespacesPerCluster: 3, deploymentsPerNamespace: 2 });
  observers = await observeFleet(fleet);
});
afterAll(async () => {
  await observers?.stop();
  await fleet?.stop();
});

describe('drill: leader killed', () => {
  it('Given two planner replicas driving the fleet, When the leader is SIGKILLed at three random points of a rollout, Then the standby takes over each time, the rollout completes, every Deployment restarted exactly once and no command of a dead leader is applied', async () => {
    const f = fleet!;
    const o = observers!;
    const started = Date.now();
    const api = fleetApi(f);
    await waitForLeader(f);
    await registerInventory(f, api);
    const total = f.clusters.reduce((n, c) => n + c.deployments.length, 0);
    const random = drillRandom();
    // three distinct points, in the first two thirds of the Deployments moved, so each lands mid-rollout
    const points = random.distinct(3, 1, Math.floor((total * 2) / 3)).sort((a, b) => a - b);
    const id = await applyRollout(api, drillRolloutYaml(f, { name: `leader-killed-${f.id}`, soak: '2s' }));

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
    const done = await waitForPhase(api, id, ['Completed'], 300_000);
    const verdict = await fleetVerdict(f, o);
    const accepted = [...f.agents.values(), f.bridge].flatMap((p) => staleAccepted(acceptedCommands(p)));
    reportDrill('leader-killed', {
      seed: random.seed,
      killPoints: points,
      takeovers,
      restarts: restartHistogram(verdict.restarts),
      refusals: o.bus.refusalsByReason(),
      dlq: o.bus.deadLettersByReason(),
      wallMs: Date.now() - started,
    });

    expect(done.phase).toBe('Completed');
    expect(verdict.notOnNew).toEqual([]);
    expect(
      Object.values(verdict.restarts).every((n) => n === 1),
      JSON.stringify(verdict.restarts),
    ).toBe(true);
    expect(
      Object.values(verdict.templateChanges).every((n) => n === 1),
      JSON.stringify(verdict.templateChanges),
    ).toBe(true);
    for (const [host, h] of Object.entries(verdict.vmHosts))
      expect({ host, ...h }).toEqual({ host, running: '1-25-2', switches: 1 });
    expect(accepted, 'commands accepted after one of a newer epoch').toEqual([]);
  });
});
