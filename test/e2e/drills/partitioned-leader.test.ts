// Drill: the leading planner frozen (SIGSTOP) past its lease while a rollout runs, so the standby takes over,
// then thawed (SIGCONT) as a partitioned leader coming back would be. Whatever the old leader still sends or
// writes is fenced: no agent applies a command of its epoch after the new leader's.
import { describe, expect, it } from 'vitest';
import { eventually } from '../../support/eventually.ts';
import { currentLeader, waitForLeader, waitForPhase } from '../../support/fleet-api.ts';
import { expectConvergedExactlyOnce, startDrillRollout, useFleet } from '../../support/fleet-drill.ts';
import { acceptedCommands, staleAccepted } from '../../support/fleet-observers.ts';
import { PLANNER_LEASE_TTL_MS, plannerUrl } from '../../support/fleet-processes.ts';
import { fleetVerdict, reportDrill, restartHistogram } from '../../support/fleet-verdict.ts';
import type { ServiceProcess } from '../../support/service-process.ts';

const drill = useFleet({ namespacesPerCluster: 3, deploymentsPerNamespace: 2 });

describe('drill: partitioned leader', () => {
  it('Given a rollout under way, When the leader is stopped past its lease and resumed after the standby took over, Then none of its commands is applied, it no longer leads, and the rollout completes with one restart per Deployment', async () => {
    const f = drill.fleet();
    const o = drill.observers();
    const { api, id, started } = await startDrillRollout(f, { name: `partition-${f.id}`, soak: '2s' });
    await eventually('3 Deployments moved', () => o.movedToNew() >= 3, 180_000);
    const old = await waitForLeader(f);
    const stoppedAt = Date.now();
    await old.process.kill('SIGSTOP');
    try {
      const next = await waitForLeader(f, old.process, 90_000);
      const takeoverMs = Date.now() - stoppedAt;
      // the new leader moves at least one more Deployment while the old one is frozen
      const moved = o.movedToNew();
      await eventually('the new leader moves a Deployment', () => o.movedToNew() > moved, 120_000);
      await old.process.kill('SIGCONT');
      await eventually(
        'the thawed replica knows it no longer leads',
        async () => (await currentLeader(f))?.process === next.process && !(await isLeading(old.process)),
        { timeoutMs: 60_000, intervalMs: PLANNER_LEASE_TTL_MS / 3 },
      );
      await waitForPhase(api, id, ['Completed'], 300_000);
      const verdict = await fleetVerdict(f, o);
      const stale = [...f.agents.values(), f.bridge].flatMap((p) => staleAccepted(acceptedCommands(p)));
      reportDrill('partitioned-leader', {
        takeoverMs,
        epochs: { old: old.epoch, new: next.epoch },
        restarts: restartHistogram(verdict.restarts),
        refusals: o.bus.refusalsByReason(),
        dlq: o.bus.deadLettersByReason(),
        wallMs: Date.now() - started,
      });
      expect(next.epoch).toBeGreaterThan(old.epoch);
      expectConvergedExactlyOnce(verdict);
      expect(stale, 'commands accepted after one of a newer epoch').toEqual([]);
    } finally {
      await old.process.kill('SIGCONT');
    }
  });
});

async function isLeading(p: ServiceProcess): Promise<boolean> {
  const r = await fetch(`${plannerUrl(p)}/readyz`, { signal: AbortSignal.timeout(3000) });
  return ((await r.json()) as { leader?: boolean }).leader === true;
}
