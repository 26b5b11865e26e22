import type { MembershipStatus, SkippedCluster } from '@meshwave/contracts';
import type { RolloutRecord, RolloutState } from '../core/rollout-state.js';
import { parseUnit, pendingSkips } from '../core/wave-units.js';

const byCluster = (units: Iterable<string>): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const u of units) {
    const c = parseUnit(u).cluster;
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  return counts;
};

/** Where skipped units come back: the next wave to start, if any is left, once their cluster is reachable. */
function comesBack(record: RolloutRecord, state: RolloutState, cluster: string): string {
  const next = state.dispatchedWaves > state.wave ? state.wave + 1 : state.wave;
  const wave = record.plan.waves[next];
  if (wave === undefined || state.phase === 'Completed')
    return `no wave is left to take them: they stay on ${record.spec.spec.from}`;
  const forced = wave.forced ? 'the forced wave ' : 'wave ';
  return `they come back in ${forced}"${wave.name}" if ${cluster} is reachable when it starts`;
}

/** The membership part of a rollout's status, derived from its stored state (absent: no membership recorded). */
export function buildMembershipStatus(record: RolloutRecord, state: RolloutState): MembershipStatus | undefined {
  const m = state.membership;
  if (m === undefined) return undefined;
  const pending = pendingSkips(m);
  const skipped: SkippedCluster[] = [];
  const lastWave = new Map<string, number>();
  for (const [unit, w] of pending) {
    const c = parseUnit(unit).cluster;
    lastWave.set(c, Math.max(lastWave.get(c) ?? 0, w));
  }
  for (const [cluster, units] of byCluster(pending.keys()))
    skipped.push({ cluster, units, wave: lastWave.get(cluster) ?? 0, comesBack: comesBack(record, state, cluster) });
  return {
    unreachable: Object.entries(m.unreachable).map(([cluster, silentSince]) => ({ cluster, silentSince })),
    snapshots: Object.entries(m.snapshots)
      .map(([w, clusters]) => ({ wave: Number(w), clusters: [...clusters] }))
      .sort((a, b) => a.wave - b.wave),
    skipped: skipped.sort((a, b) => a.cluster.localeCompare(b.cluster)),
    added: Object.entries(m.added)
      .flatMap(([w, units]) => [...byCluster(units)].map(([cluster, n]) => ({ wave: Number(w), cluster, units: n })))
      .sort((a, b) => a.wave - b.wave || a.cluster.localeCompare(b.cluster)),
  };
}
