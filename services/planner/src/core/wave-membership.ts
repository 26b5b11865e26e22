import type { Inventory } from '@meshwave/contracts';
import { planRollout } from '@meshwave/plan';
import type { RolloutRecord, RolloutState } from './rollout-state.js';
import { stragglersOf } from './forced-wave.js';
import { parsedUnitsOf, parseUnit, pendingSkips, type WaveMembership } from './wave-units.js';

/** What the rollout file says about a cluster that went silent (`spec.onUnreachable`; absent: wait). */
export const UnreachablePolicy = { Wait: 'wait', Skip: 'skip' } as const;
export type UnreachablePolicy = (typeof UnreachablePolicy)[keyof typeof UnreachablePolicy];

/** What the planner hears of each cluster's agent, handed to the pure engine by the runtime. */
export interface Membership {
  /** per cluster, the instant (ms) the planner last heard its agent (a heartbeat or any report) */
  readonly lastSeen: ReadonlyMap<string, number>;
  /** the planner could hear no one before this instant (it became leader then): silence counts from here */
  readonly since: number;
  /** an agent silent this long makes its cluster Unreachable */
  readonly timeoutMs: number;
  /** the fleet now, given while a wave may start: a cluster that joined since creation gets its units from it */
  readonly inventory?: Inventory;
}

export const emptyMembership = (): WaveMembership => ({ snapshots: {}, added: {}, skipped: {}, unreachable: {} });

export function policyOf(record: RolloutRecord): UnreachablePolicy {
  return record.spec.spec.onUnreachable ?? UnreachablePolicy.Wait;
}

/** When the planner last heard `cluster` (its silence counts from the planner's own start when never). */
export function silentSince(m: Membership, cluster: string): number {
  return Math.max(m.lastSeen.get(cluster) ?? m.since, m.since);
}

export function isUnreachable(m: Membership | undefined, cluster: string, now: number): boolean {
  return m !== undefined && now - silentSince(m, cluster) >= m.timeoutMs;
}

/** Every cluster the plan knew at creation (in a wave or skipped): any other cluster joined since. */
function knownClusters(record: RolloutRecord): Set<string> {
  const known = new Set<string>();
  for (const w of record.plan.waves) {
    for (const c of w.clusters) known.add(c.cluster);
    for (const u of w.units) known.add(parseUnit(u).cluster);
  }
  for (const s of record.plan.skipped) known.add(s.cluster);
  return known;
}

/**
 * Units of clusters that joined after creation that wave `w` takes: planned afresh on the fleet as it is now,
 * those the fresh plan puts in wave `w` or in a wave already started (a joiner's units go to the first wave not
 * started that selects them). Pure: planning reads no clock.
 */
function joinedUnits(record: RolloutRecord, inventory: Inventory, w: number, now: Date): string[] {
  const known = knownClusters(record);
  if (!inventory.clusters.some((c) => !known.has(c.name))) return [];
  const fresh = planRollout(record.spec, inventory, { now });
  const indexOf = new Map(record.plan.waves.map((x, i) => [x.name, i]));
  const out: string[] = [];
  for (const fw of fresh.waves) {
    const i = indexOf.get(fw.name);
    if (i === undefined || i > w) continue;
    for (const unit of fw.units) if (!known.has(parseUnit(unit).cluster)) out.push(unit);
  }
  return out;
}

/** What a wave's start decided about who takes part. */
export type WaveStart =
  | { readonly ok: true; readonly membership: WaveMembership; readonly note: string }
  /** `onUnreachable: wait` and a cluster of the wave is silent: the wave does not start */
  | { readonly ok: false; readonly reason: string };

const list = (xs: readonly string[]): string =>
  xs.length <= 5 ? xs.join(', ') : `${xs.slice(0, 5).join(', ')} and ${xs.length - 5} more`;

/**
 * Wave `w`'s start: it snapshots its clusters. Units skipped earlier whose cluster is back, and a joined
 * cluster's units, come into it; under `skip` the units of an Unreachable cluster stay out (to come back in a
 * later or the forced wave); under `wait` a silent cluster holds the start.
 */
export function startWave(record: RolloutRecord, state: RolloutState, w: number, m: Membership, now: Date): WaveStart {
  const at = now.getTime();
  const before = state.membership ?? emptyMembership();
  const key = String(w);
  // units placed in this wave before it started (included back) or by an earlier start of it (a restart after a
  // failback) stay in it: they are planned for it like its own
  const kept = before.added[key] ?? [];
  const planned = [...parsedUnitsOf(record.plan.waves[w] ?? { units: [] }).map((u) => u.unit), ...kept];
  const taken = new Set(Object.values(before.added).flat());
  const comeback = [...pendingSkips(before, w).keys()];
  const joinedAll = m.inventory !== undefined ? joinedUnits(record, m.inventory, w, now) : [];
  const joined = joinedAll.filter((u) => !taken.has(u));
  // A forced wave also takes whatever is still on `from` that no wave holds (created since, inactive).
  const held = new Set([...record.plan.waves.flatMap((x) => x.units), ...taken, ...joinedAll]);
  const stragglers = m.inventory !== undefined ? stragglersOf(record, state, w, m.inventory, held) : [];
  const candidates = [...planned, ...comeback, ...joined, ...stragglers];
  const clusters = [...new Set(candidates.map((u) => parseUnit(u).cluster))].sort();
  const silent = clusters.filter((c) => isUnreachable(m, c, at));
  const silentSet = new Set(silent);
  const since = (c: string): string => new Date(silentSince(m, c)).toISOString();
  const name = record.plan.waves[w]?.name ?? String(w);
  if (silent.length > 0 && policyOf(record) === UnreachablePolicy.Wait)
    return {
      ok: false,
      reason: `wave "${name}" waits for Unreachable cluster(s) ${list(silent.map((c) => `${c} (silent since ${since(c)})`))} (onUnreachable: wait)`,
    };
  const reachable = (u: string): boolean => !silentSet.has(parseUnit(u).cluster);
  const skipped = planned.filter((u) => !reachable(u));
  const added = [...new Set([...kept, ...comeback, ...joined, ...stragglers])].filter(reachable);
  const back = comeback.filter(reachable).length;
  const joiners = joined.filter(reachable);
  const outside = stragglers.filter(reachable).length;
  const notes = [
    ...(skipped.length > 0 ? [`${skipped.length} units of Unreachable ${list(silent)} skipped`] : []),
    ...(back > 0 ? [`${back} skipped units back`] : []),
    ...(joiners.length > 0
      ? [`${joiners.length} units of joined ${list([...new Set(joiners.map((u) => parseUnit(u).cluster))])}`]
      : []),
    ...(outside > 0 ? [`${outside} units still on ${record.spec.spec.from} outside the plan`] : []),
  ];
  return {
    ok: true,
    membership: {
      ...before,
      snapshots: { ...before.snapshots, [key]: clusters.filter((c) => !silentSet.has(c)) },
      added: added.length > 0 ? { ...before.added, [key]: added } : before.added,
      skipped:
        skipped.length > 0
          ? { ...before.skipped, [key]: [...new Set([...(before.skipped[key] ?? []), ...skipped])] }
          : before.skipped,
    },
    note: notes.length > 0 ? ` (${notes.join('; ')})` : '',
  };
}

/** What the current wave's membership review found. */
export interface WaveReview {
  /** the membership to store (the same object when nothing changed) */
  readonly membership: WaveMembership | undefined;
  /** under `wait`: what the wave waits for */
  readonly waiting?: string;
  /** the next instant a cluster of the wave still moving goes Unreachable if it stays silent */
  readonly wakeAt?: number;
}

/**
 * A running wave's units not yet converged (or not freshly reported so): the clusters that have any, and, asked for
 * only when a cluster fell silent, those units of given clusters in the wave's order.
 */
export interface MovingUnits {
  readonly clusters: readonly string[];
  unitsIn(clusters: readonly string[]): string[];
}

/**
 * While a wave runs: the clusters of its units still moving that fell silent are Unreachable. Under `skip` their
 * units not yet converged leave the wave (to come back later); under `wait` the wave waits for them, saying so.
 */
export function reviewWave(
  record: RolloutRecord,
  state: RolloutState,
  m: Membership,
  now: Date,
  moving: MovingUnits,
): WaveReview {
  const at = now.getTime();
  const clusters = [...new Set(moving.clusters)].sort();
  const silent = clusters.filter((c) => isUnreachable(m, c, at));
  const live = clusters.filter((c) => !silent.includes(c)).map((c) => silentSince(m, c) + m.timeoutMs);
  const wakeAt = live.length > 0 ? Math.min(...live) : undefined;
  const before = state.membership;
  const unreachable = Object.fromEntries(silent.map((c) => [c, new Date(silentSince(m, c)).toISOString()]));
  const sameSilence =
    JSON.stringify(before?.unreachable ?? {}) === JSON.stringify(unreachable) &&
    (before !== undefined || silent.length === 0);
  let membership = sameSilence ? before : { ...(before ?? emptyMembership()), unreachable };
  const withWake = wakeAt !== undefined ? { wakeAt } : {};
  if (silent.length === 0) return { membership, ...withWake };
  const described = list(silent.map((c) => `${c} (silent since ${unreachable[c]})`));
  if (policyOf(record) === UnreachablePolicy.Wait)
    return {
      membership,
      waiting: `waiting for Unreachable cluster(s) ${described} (onUnreachable: wait)`,
      ...withWake,
    };
  const leaving = moving.unitsIn(silent);
  const key = String(state.wave);
  const m0 = membership ?? emptyMembership();
  membership = { ...m0, skipped: { ...m0.skipped, [key]: [...(m0.skipped[key] ?? []), ...leaving] } };
  return { membership, ...withWake };
}
