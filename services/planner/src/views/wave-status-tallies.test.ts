import type { HealthReport, UnitProgress, VmProgress } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { newHarness, newInventory, type Harness } from '../core/engine-harness.js';
import type { Observations, Received } from '../core/rollout-state.js';
import { buildWaveStatuses } from './rollout-status.js';

/** The wave statuses built from copies of every input: nothing kept from an earlier build can answer. */
const VMS = { vms: [{ select: { groups: ['edge'] }, wave: 'half', maxUnavailable: 2 }] };

function freshBuild(h: Harness, observations: Observations) {
  return buildWaveStatuses(structuredClone(h.record), structuredClone(h.state), structuredClone(observations));
}

/** `previous` with the reports of `clusters` (and of the VM groups when `vm`) taken from `next`: only they changed. */
function withReportsOf(previous: Observations, next: Observations, clusters: readonly string[], vm = false) {
  const merged = new Map(previous.clusters);
  for (const c of clusters) if (next.clusters.has(c)) merged.set(c, next.clusters.get(c)!);
  return { ...previous, clusters: merged, vmGroups: vm ? next.vmGroups : previous.vmGroups };
}

function healthOf(h: Harness, unit: string, crashLooping: boolean): Received<HealthReport> {
  const [, namespace, kind, name] = unit.split('/');
  return {
    receivedAt: new Date(h.now.getTime() + 60_000).toISOString(),
    report: {
      source: 'x',
      generation: 1,
      observedAt: h.now.toISOString(),
      units: [
        {
          namespace: namespace!,
          kind: kind!,
          name: name!,
          unavailableReplicas: 0,
          restarts: crashLooping ? 5 : 0,
          crashLooping,
          sidecarMismatch: false,
        },
      ],
    },
  } as Received<HealthReport>;
}

describe('wave statuses counted per cluster and VM group, again only where a report changed', () => {
  it('equal what a build from copies of every input gives, after each of a sequence of changes', () => {
    // Given a rollout over 4 clusters and a VM group whose first wave went out, prod-4's agent waiting
    const h = newHarness(VMS, newInventory(4, 12, 6));
    h.fleet.waiting.set('prod-4', { reason: 'ControlPlaneNotReady', message: 'cp' });
    h.settle();
    let obs = h.fleet.observations();
    expect(buildWaveStatuses(h.record, h.state, obs)).toEqual(freshBuild(h, obs));
    const unit = h.record.plan.waves[0]!.units.find((u) => !u.startsWith('prod-4/'))!;
    const cluster = unit.split('/')[0]!;
    const steps: { name: string; change: () => void }[] = [
      { name: 'a unit fails', change: () => h.fleet.failing.add(unit) },
      { name: "prod-4's agent starts", change: () => h.fleet.waiting.delete('prod-4') },
      {
        name: 'a health report flags a crash loop',
        change: () => h.fleet.health.set(cluster, healthOf(h, unit, true)),
      },
      { name: 'a health report flags nothing', change: () => h.fleet.health.set(cluster, healthOf(h, unit, false)) },
      { name: 'the unit is excluded', change: () => (h.state = { ...h.state, excluded: [unit] }) },
      { name: 'the next waves go out', change: () => h.runUntil(['Completed', 'Halted', 'Paused']) },
    ];
    const seen = new Set<string>();
    for (const step of steps) {
      // When only the changed cluster's report is new (and the VM group's), and the statuses are read again
      step.change();
      obs = withReportsOf(obs, h.fleet.observations(), [cluster, 'prod-4'], true);
      obs = { ...obs, health: new Map(h.fleet.health) };
      // Then they are what a build from scratch gives
      const waves = buildWaveStatuses(h.record, h.state, obs);
      expect(waves, step.name).toEqual(freshBuild(h, obs));
      for (const w of waves) {
        if (w.failedUnits.length > 0) seen.add('failed');
        if (w.held !== undefined) seen.add('held');
        if (w.units.excluded > 0) seen.add('excluded');
        if ((w.onTarget?.vmHosts ?? 0) > 0) seen.add('vm on target');
        if (w.units.converged > 0) seen.add('converged');
      }
    }
    // (the sequence went through each kind of count a status has)
    expect([...seen].sort()).toEqual(['converged', 'excluded', 'failed', 'held', 'vm on target']);
    // and reports of every cluster replaced at once change nothing in that
    obs = h.fleet.observations();
    expect(buildWaveStatuses(h.record, h.state, obs)).toEqual(freshBuild(h, obs));
  });

  it("a read after one cluster reported reads no other cluster's or VM group's report", () => {
    // Given a rollout whose every wave went out, each report counting the reads of its units and hosts
    const h = newHarness(VMS, newInventory(4, 12, 6));
    h.runUntil(['Completed']);
    const reads = new Map<string, number>();
    const counted = <T extends object>(name: string, report: T, field: 'units' | 'hosts'): T => {
      const copy = { ...report };
      const value = (report as Record<string, unknown>)[field];
      Object.defineProperty(copy, field, {
        enumerable: true,
        get: () => (reads.set(name, (reads.get(name) ?? 0) + 1), value),
      });
      return copy;
    };
    const live = h.fleet.observations();
    const obs: Observations = {
      clusters: new Map([...live.clusters].map(([c, r]) => [c, counted<UnitProgress>(c, r, 'units')])),
      vmGroups: new Map([...live.vmGroups].map(([g, r]) => [g, counted<VmProgress>(`vm/${g}`, r, 'hosts')])),
      health: live.health,
    };
    const first = buildWaveStatuses(h.record, h.state, obs);
    expect(first.at(-1)!.onTarget?.units).toBeGreaterThan(0);
    expect(reads.size).toBe(5);

    // When prod-1 reports again (a new report object) and the status is read again
    reads.clear();
    const after = withReportsOf(obs, h.fleet.observations(), ['prod-1']);
    const again = buildWaveStatuses(h.record, h.state, after);

    // Then only prod-1's report was read (and the statuses are those of a fresh build)
    expect([...reads.keys()]).toEqual([]);
    expect(again).toEqual(freshBuild(h, after));
  });
});
