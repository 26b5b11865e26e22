// Drill: one cluster's control plane (etcd, kube-apiserver, controllers, kwok) stopped for 30 s in the middle of
// a rollout, then started again on the same data. Its agent cannot read or write anything meanwhile: it reports
// itself Degraded (apiserver-unreachable) within seconds, and once it cannot renew its lease it exits so its pod
// restarts (as controller-runtime's managers do); the drill restarts it as the kubelet would. The planner must
// hold that cluster rather than fail its units, and the rollout must complete with one restart per Deployment
// once the apiserver is back. Watched from outside: the health reports on Kafka, the rollout's own status during
// the outage (no failed unit, no halt) and the apiservers' ReplicaSets at the end.
import { describe, expect, it } from 'vitest';
import { eventually } from '../../support/eventually.ts';
import { rolloutStatus, waitForPhase } from '../../support/fleet-api.ts';
import { expectConvergedExactlyOnce, startDrillRollout, useFleet } from '../../support/fleet-drill.ts';
import { withServerStopped } from '../../support/fleet-faults.ts';
import { fleetVerdict, reportDrill, restartHistogram } from '../../support/fleet-verdict.ts';
import type { Fleet, FleetApi, FleetCluster } from '../../support/fleet-processes.ts';

const drill = useFleet({ namespacesPerCluster: 3, deploymentsPerNamespace: 2 });
const OUTAGE_MS = 30_000;

/** Every failed unit and every halt the rollout's status shows now. */
async function failures(api: FleetApi, id: string): Promise<string[]> {
  const s = await rolloutStatus(api, id);
  const out = s.waveStatuses.flatMap((w) =>
    w.failedUnits.map((u) => `${u.unit}: ${u.reason ?? ''} ${u.message ?? ''}`),
  );
  if (['Halted', 'Failed', 'RolledBack', 'Aborted'].includes(s.phase)) out.push(`phase ${s.phase}: ${s.reason ?? ''}`);
  return out;
}

/** As the kubelet restarts a container that exited (same pod, same name): counts the restarts until stopped. */
function superviseAgent(f: Fleet, cluster: FleetCluster): { restarts: () => number; stop: () => void } {
  let restarts = 0;
  const timer = setInterval(() => {
    const p = f.agents.get(cluster.name)!;
    if (p.alive()) return;
    restarts++;
    f.agents.set(cluster.name, f.startAgent(cluster, p.name));
  }, 500);
  return { restarts: () => restarts, stop: () => clearInterval(timer) };
}

describe('drill: apiserver down', () => {
  it("Given a rollout under way, When one cluster's apiserver is stopped for 30 s and started again, Then no unit fails, nothing halts, and the rollout completes with one restart per Deployment", async () => {
    const f = drill.fleet();
    const o = drill.observers();
    const { api, id, started } = await startDrillRollout(f, { name: `apiserver-${f.id}`, soak: '2s' });
    const down = f.clusters[1]!;
    await eventually('3 Deployments moved', () => o.movedToNew() >= 3, 120_000);
    const movedAtStop = o.movedToNew();
    const seen: string[] = [];
    const kubelet = superviseAgent(f, down);
    const stoppedAt = Date.now();
    await withServerStopped(down.env.name, async () => {
      // the planner's view while the cluster is dark, read every second through its API
      const until = Date.now() + OUTAGE_MS;
      while (Date.now() < until) {
        for (const x of await failures(api, id)) if (!seen.includes(x)) seen.push(x);
        await new Promise((r) => setTimeout(r, 1000));
      }
    });
    const restartedAt = Date.now();
    await waitForPhase(api, id, ['Completed'], 240_000);
    const completedAt = Date.now();
    kubelet.stop();
    const verdict = await fleetVerdict(f, o);
    const degraded = o.bus.degraded.filter((d) => d.source.includes(down.name)).map((d) => d.reason);
    reportDrill('apiserver-down', {
      cluster: down.name,
      movedAtStop,
      outageMs: restartedAt - stoppedAt,
      completedAfterRestartMs: completedAt - restartedAt,
      agentRestarts: kubelet.restarts(),
      degradedReports: degraded.length,
      restarts: restartHistogram(verdict.restarts),
      refusals: o.bus.refusalsByReason(),
      dlq: o.bus.deadLettersByReason(),
      wallMs: Date.now() - started,
    });
    expect(degraded, 'the agent told the planner why its cluster went quiet').toContain('apiserver-unreachable');
    expect(seen, 'failed units or halts the planner showed while the apiserver was down').toEqual([]);
    expect(await failures(api, id), 'failed units or halts at the end').toEqual([]);
    expectConvergedExactlyOnce(verdict);
  }, 420_000);
});
