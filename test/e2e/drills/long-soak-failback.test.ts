// Drill: the defect the defects issue found, on the whole fleet. Namespaces labelled `istio.io/rev` (Istio's
// docs' way), so each agent hands the namespace's label over to its workloads before moving them; the first wave
// soaks longer than the agents' progress deadline, then an operator rolls back. Every workload of that wave must
// run the old revision again after exactly one more restart, no failback may fail, and the later wave never moves.
// Judged from the apiservers (live pods' sidecars, the ReplicaSets each Deployment owns) and the rollout's status.
import { describe, expect, it } from 'vitest';
import { eventually } from '../../support/eventually.ts';
import { rolloutStatus, waitForPhase } from '../../support/fleet-api.ts';
import { startDrillRollout, useFleet } from '../../support/fleet-drill.ts';
import { OLD } from '../../support/fleet-processes.ts';
import { reportDrill, restartHistogram } from '../../support/fleet-verdict.ts';

const DEADLINE_SECONDS = 15;
const drill = useFleet({
  namespacesPerCluster: 2,
  deploymentsPerNamespace: 2,
  namespaceLabelled: true,
  progressDeadlineSeconds: DEADLINE_SECONDS,
});

describe('drill: long soak, then failback', () => {
  it('Given namespace-labelled clusters and a first wave soaking longer than the progress deadline, When an operator rolls back, Then every moved workload runs the old revision again after exactly one more restart, nothing fails and the next wave never moves', async () => {
    const f = drill.fleet();
    const o = drill.observers();
    const firstWave = f.clusters.map((c) => c.namespaces[0]!);
    const { api, id, started } = await startDrillRollout(f, {
      name: `long-soak-${f.id}`,
      waves: [{ percent: 100, namespaces: firstWave }, 100],
      soak: '10m',
      vmWave: null,
    });
    const moved = f.clusters.flatMap((c) => c.deployments.filter((d) => firstWave.includes(d.split('/')[0]!)));
    const untouched = f.clusters.flatMap((c) => c.deployments.filter((d) => !moved.includes(d)));
    // the first wave converged (every unit reported on NEW) and soaking...
    await eventually(
      'the first wave converged and soaking',
      async () => {
        const s = await rolloutStatus(api, id);
        const w = s.waveStatuses[0]!;
        return s.wavePhase === 'Soaking' && w.units.converged === moved.length ? s : undefined;
      },
      180_000,
    );
    // ... for longer than the agents' progress deadline
    await new Promise((r) => setTimeout(r, (DEADLINE_SECONDS + 5) * 1000));
    const soakedMs = Date.now() - started;
    const restartsOf = async (): Promise<Record<string, number>> => {
      const out: Record<string, number> = {};
      for (const c of o.clusters) Object.assign(out, await c.replicaSetRestarts());
      return out;
    };
    const before = await restartsOf();
    const r = await api(
      'POST',
      `/v1/rollouts/${encodeURIComponent(id)}/rollback`,
      JSON.stringify({ reason: 'drill: failback after a long soak' }),
      'application/json',
    );
    expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
    const ended = await waitForPhase(api, id, ['RolledBack'], 240_000);

    const live: Record<string, (string | null)[]> = {};
    for (const c of o.clusters) Object.assign(live, await c.liveRevisions());
    const restarts = await restartsOf();
    const notOnOld = [...moved, ...untouched].filter(
      (d) => (live[d] ?? []).length === 0 || live[d]!.some((x) => x !== OLD),
    );
    reportDrill('long-soak-failback', {
      soakedBeforeRollbackMs: soakedMs,
      waveStates: ended.waveStatuses.map((w) => w.state),
      restarts: restartHistogram(restarts),
      dlq: o.bus.deadLettersByReason(),
      wallMs: Date.now() - started,
    });
    expect(
      ended.waveStatuses.flatMap((w) => w.failedUnits),
      'units failed',
    ).toEqual([]);
    expect(ended.waveStatuses.map((w) => w.state)).not.toContain('rollback-failed');
    expect(notOnOld, 'Deployments with a pod not on the old revision').toEqual([]);
    // Under a namespace label a workload moves alone only once its template carries the label itself (Istio's
    // namespace label outranks a pod's): the handoff is a restart onto the same revision, then the move, then
    // exactly one failback.
    const each = (keys: readonly string[], n: (k: string) => number | undefined) =>
      Object.fromEntries(keys.map((k) => [k, n(k)]));
    expect(
      each(moved, (d) => restarts[d]! - before[d]!),
      'moved: exactly one more restart, the failback',
    ).toEqual(each(moved, () => 1));
    expect(
      each(moved, (d) => restarts[d]),
      'moved: handoff, move and failback',
    ).toEqual(each(moved, () => 3));
    expect(
      each(untouched, (d) => restarts[d]),
      'the later wave never restarted',
    ).toEqual(each(untouched, () => 0));
  }, 480_000);
});
