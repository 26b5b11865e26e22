import type { UnitProgress } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { newHarness, newInventory } from './engine-harness.js';
import { observeUnits, UnitStatus } from './unit-observations.js';
import type { Observations } from './rollout-state.js';

/** A rollout of 3 clusters in one wave, dispatched, with each cluster's report as the fleet holds it. */
function dispatched() {
  const h = newHarness({ waves: [{ name: 'all', select: {} }] } as never, newInventory(3, 4));
  h.settle();
  return h;
}

/** every cluster's report saying its units are still on the old revision */
function allPending(observations: Observations): Observations {
  const clusters = new Map(
    [...observations.clusters].map(([name, r]) => [
      name,
      {
        ...r,
        units: r.units.map((u) => ({
          ...u,
          state: 'pending' as const,
          revision: '1-24-5',
          injectedRevision: '1-24-5',
        })),
      },
    ]),
  );
  return { ...observations, clusters };
}

/** `observations` with `cluster`'s report replaced by a new one (a delta applied), one unit converged. */
function withOneConverged(observations: Observations, cluster: string): Observations {
  const report = observations.clusters.get(cluster) as UnitProgress;
  const [first, ...rest] = report.units;
  const units = [{ ...first!, state: 'converged' as const, revision: '1-25-2', injectedRevision: '1-25-2' }, ...rest];
  return { ...observations, clusters: new Map(observations.clusters).set(cluster, { ...report, units }) };
}

describe('observeUnits is incremental (issue 15, ADR 0048)', () => {
  it('Given a report of one cluster replaced, Then only that cluster’s units are observed again; the others’ are reused as they were', () => {
    const h = dispatched();
    const before = allPending(h.fleet.observations());
    const first = observeUnits(h.record, h.state, before, [0]);
    expect(first.length).toBe(12);
    const cluster = first[0]!.cluster;

    const again = observeUnits(h.record, h.state, before, [0]);
    // nothing reported since: every observation is the one computed before
    again.forEach((o, i) => expect(o).toBe(first[i]));

    const after = observeUnits(h.record, h.state, withOneConverged(before, cluster), [0]);
    expect(after.map((o) => o.unit)).toEqual(first.map((o) => o.unit));
    after.forEach((o, i) => {
      if (o.cluster === cluster) expect(o).not.toBe(first[i]);
      else expect(o).toBe(first[i]);
    });
    expect(after.filter((o) => o.status === UnitStatus.Converged).map((o) => o.cluster)).toEqual([cluster]);
  });

  it('Given an exclusion or a failback, Then the units are observed again under it', () => {
    const h = dispatched();
    const observations = h.fleet.observations();
    const first = observeUnits(h.record, h.state, observations, [0]);
    const excluded = observeUnits(h.record, { ...h.state, excluded: [first[0]!.unit] }, observations, [0]);
    expect(excluded.map((o) => o.unit)).toEqual(first.slice(1).map((o) => o.unit));
    const back = observeUnits(h.record, { ...h.state, rollbackAll: true }, observations, [0]);
    expect(back.every((o) => o.desired === h.record.spec.spec.from)).toBe(true);
  });

  it('Given health reports that flag no unit, Then the units are not observed again; one that flags a unit is heard', () => {
    const h = dispatched();
    const observations = h.fleet.observations();
    const first = observeUnits(h.record, h.state, observations, [0]);
    const cluster = first[0]!.cluster;
    const after = Date.parse(h.state.waveDispatchedAt!) + 1000;
    const healthSaying = (restarts: number): Observations['health'] =>
      new Map([
        [
          cluster,
          {
            receivedAt: new Date(after).toISOString(),
            report: {
              source: 'x',
              generation: 1,
              observedAt: new Date(after).toISOString(),
              units: [
                {
                  ...parseLocal(first[0]!.unit),
                  unavailableReplicas: 0,
                  restarts,
                  crashLooping: false,
                  sidecarMismatch: false,
                },
              ],
            },
          } as never,
        ],
      ]);

    // a cluster's periodic health report of healthy units (a new object each time): nothing observed anew
    const quiet = observeUnits(h.record, h.state, { ...observations, health: healthSaying(0) }, [0]);
    quiet.forEach((o, i) => expect(o).toBe(first[i]));

    // one counting restarts: that cluster's units are observed again, with the restarts
    const loud = observeUnits(h.record, h.state, { ...observations, health: healthSaying(3) }, [0]);
    expect(loud[0]).toMatchObject({ unit: first[0]!.unit, restarts: 3 });
    loud.forEach((o, i) => (o.cluster === cluster ? expect(o).not.toBe(first[i]) : expect(o).toBe(first[i])));
  });
});

function parseLocal(unit: string) {
  const [, namespace, kind, name] = unit.split('/') as [string, string, string, string];
  return { namespace, kind, name };
}
