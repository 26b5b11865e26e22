import { UnitState, unitKey, type UnitProgressEntry } from '@meshwave/contracts';
import type { Observations, RolloutRecord, RolloutState } from '../core/rollout-state.js';
import { isExcluded } from '../core/unit-observations.js';
import { waveUnitsOf } from '../core/wave-units.js';

/** A wave's units and VM hosts running the rollout's `to`, in all, per cluster and per VM group. */
export interface WaveInjection {
  readonly units: number;
  readonly perCluster: ReadonlyMap<string, number>;
  readonly vmHosts: number;
  readonly perGroup: ReadonlyMap<string, number>;
}

/**
 * The revision a reported workload runs: the one seen injected in its pods. An agent that does not report the
 * injected revision says only that a unit converged on its label; that counts, a label alone never does.
 */
function runningRevision(e: UnitProgressEntry): string | null | undefined {
  if (e.injectedRevision !== undefined) return e.injectedRevision;
  return e.state === UnitState.Converged ? e.revision : undefined;
}

/** A cluster's reported entries by unit key and by namespace. */
export interface ReportedEntries {
  readonly byKey: ReadonlyMap<string, UnitProgressEntry>;
  readonly byNamespace: ReadonlyMap<string, readonly UnitProgressEntry[]>;
}

function entriesByCluster(observations: Observations, cluster: string): ReportedEntries {
  const report = observations.clusters.get(cluster);
  const byKey = new Map<string, UnitProgressEntry>();
  const byNamespace = new Map<string, UnitProgressEntry[]>();
  for (const e of report?.units ?? []) {
    byKey.set(unitKey(e), e);
    // appended in place: copying the list per entry made a namespace of 500 workloads cost 125,000 copies
    const list = byNamespace.get(e.namespace);
    if (list === undefined) byNamespace.set(e.namespace, [e]);
    else list.push(e);
  }
  return { byKey, byNamespace };
}

/**
 * How many of wave `w`'s units (exclusions left out) run `to`, as their agents last reported: the injected
 * sidecar, not the assigned label, so a wave being failed back counts down while its units leave `to`. A namespace
 * unit runs `to` when every workload reported in it does. VM hosts count by the proxy version they report.
 */
export function waveInjection(
  record: RolloutRecord,
  state: RolloutState,
  observations: Observations,
  w: number,
  /** the clusters' entries, shared by the waves of one status read (each cluster indexed once) */
  indexes: Map<string, ReportedEntries> = new Map(),
): WaveInjection {
  const planned = record.plan.waves[w];
  const to = record.spec.spec.to;
  const perCluster = new Map<string, number>();
  const perGroup = new Map<string, number>();
  if (planned === undefined) return { units: 0, perCluster, vmHosts: 0, perGroup };
  let units = 0;
  // the wave's units as its membership has them (planned, plus those it took, minus those it skipped), as its
  // counts take them: a skipped unit is no longer the wave's, whatever it runs
  for (const u of waveUnitsOf(record, state, w)) {
    if (state.excluded.length > 0 && isExcluded(u.unit, state.excluded)) continue;
    let index = indexes.get(u.cluster);
    if (index === undefined) indexes.set(u.cluster, (index = entriesByCluster(observations, u.cluster)));
    const own = index.byKey.get(u.local);
    const entries = own !== undefined ? [own] : u.kind === undefined ? (index.byNamespace.get(u.namespace) ?? []) : [];
    const onTarget = entries.length > 0 && entries.every((e) => runningRevision(e) === to);
    perCluster.set(u.cluster, (perCluster.get(u.cluster) ?? 0) + (onTarget ? 1 : 0));
    if (onTarget) units++;
  }
  let vmHosts = 0;
  const versions = new Map<string, Map<string, string | undefined>>();
  for (const h of planned.vmHosts) {
    let group = versions.get(h.group);
    if (group === undefined) {
      const hosts = observations.vmGroups.get(h.group)?.hosts ?? [];
      versions.set(h.group, (group = new Map(hosts.map((x) => [x.name, x.version ?? undefined]))));
    }
    const onTarget = group.get(h.name) === to;
    perGroup.set(h.group, (perGroup.get(h.group) ?? 0) + (onTarget ? 1 : 0));
    if (onTarget) vmHosts++;
  }
  return { units, perCluster, vmHosts, perGroup };
}
