// Drill: the Kafka broker stopped for 20 s in the middle of a rollout, then started again on the same data.
// Nothing may be lost (the rollout completes) and nothing applied twice (one restart per Deployment).
import { describe, it } from 'vitest';
import { eventually } from '../../support/eventually.ts';
import { waitForPhase } from '../../support/fleet-api.ts';
import { expectConvergedExactlyOnce, startDrillRollout, useFleet } from '../../support/fleet-drill.ts';
import { withServerStopped } from '../../support/fleet-faults.ts';
import { fleetVerdict, reportDrill, restartHistogram } from '../../support/fleet-verdict.ts';

const drill = useFleet({ namespacesPerCluster: 3, deploymentsPerNamespace: 2 });
const OUTAGE_MS = 20_000;

describe('drill: broker restart', () => {
  it('Given a rollout under way, When the Kafka broker is stopped for 20 s and started again, Then the rollout completes and every Deployment and VM host moved exactly once', async () => {
    const f = drill.fleet();
    const o = drill.observers();
    const { api, id, started } = await startDrillRollout(f, { name: `broker-${f.id}`, soak: '2s' });
    await eventually('3 Deployments moved', () => o.movedToNew() >= 3, 180_000);
    const movedAtStop = o.movedToNew();
    const stoppedAt = Date.now();
    await withServerStopped('kafka', () => new Promise((r) => setTimeout(r, OUTAGE_MS)));
    const restartedAt = Date.now();
    await waitForPhase(api, id, ['Completed'], 300_000);
    const completedAt = Date.now();
    const verdict = await fleetVerdict(f, o);
    reportDrill('broker-restart', {
      movedAtStop,
      outageMs: restartedAt - stoppedAt,
      completedAfterRestartMs: completedAt - restartedAt,
      restarts: restartHistogram(verdict.restarts),
      refusals: o.bus.refusalsByReason(),
      dlq: o.bus.deadLettersByReason(),
      wallMs: Date.now() - started,
    });
    expectConvergedExactlyOnce(verdict);
  });
});
