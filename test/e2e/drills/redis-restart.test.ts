// Drill: Redis (AOF, fsync always) restarted in the middle of a rollout. The rollout resumes and completes, and
// nothing is applied twice.
import { describe, it } from 'vitest';
import { restartRedis } from '../../support/env.ts';
import { eventually } from '../../support/eventually.ts';
import { waitForPhase } from '../../support/fleet-api.ts';
import { expectConvergedExactlyOnce, startDrillRollout, useFleet } from '../../support/fleet-drill.ts';
import { fleetVerdict, reportDrill, restartHistogram } from '../../support/fleet-verdict.ts';

const drill = useFleet({ namespacesPerCluster: 3, deploymentsPerNamespace: 2 });

describe('drill: Redis restart', () => {
  it('Given a rollout under way, When Redis is restarted (AOF), Then the rollout resumes and completes with every Deployment and VM host moved exactly once', async () => {
    const f = drill.fleet();
    const o = drill.observers();
    const { api, id, started } = await startDrillRollout(f, { name: `redis-${f.id}`, soak: '2s' });
    await eventually('3 Deployments moved', () => o.movedToNew() >= 3, 180_000);
    const movedAtRestart = o.movedToNew();
    const restartAt = Date.now();
    await restartRedis();
    const backAt = Date.now();
    await waitForPhase(api, id, ['Completed'], 300_000);
    const verdict = await fleetVerdict(f, o);
    reportDrill('redis-restart', {
      movedAtRestart,
      redisDownMs: backAt - restartAt,
      completedAfterMs: Date.now() - backAt,
      restarts: restartHistogram(verdict.restarts),
      refusals: o.bus.refusalsByReason(),
      dlq: o.bus.deadLettersByReason(),
      wallMs: Date.now() - started,
    });
    expectConvergedExactlyOnce(verdict);
  });
});
