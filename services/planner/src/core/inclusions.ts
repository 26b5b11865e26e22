import type { ExcludedUnit } from '@meshwave/contracts';
import type { RolloutRecord, RolloutState } from './rollout-state.js';
import { excludedUnitKey } from './exclusions.js';
import { isExcluded } from './unit-observations.js';
import { emptyMembership } from './wave-membership.js';
import { waveUnitsOf, type WaveMembership } from './wave-units.js';

export type InclusionResult =
  | {
      readonly ok: true;
      readonly excluded: readonly string[];
      readonly membership: WaveMembership | undefined;
      /** the keys included back, and where their units go, for the audit message */
      readonly note: string;
    }
  /** `problems` name the request's fields (`units[i]`) for a 422; without them the action does not apply now (409) */
  | { readonly ok: false; readonly why: string; readonly problems?: readonly { path: string; message: string }[] };

/**
 * Where an included unit goes when its own wave has started already (the wave moved on without it): the first wave
 * not dispatched yet, which takes it at its start; when every wave has started, the forced wave if it is the one
 * running (it takes everything still on `from`). Undefined: no wave is left to take it.
 */
function comebackWave(record: RolloutRecord, state: RolloutState): number | undefined {
  if (state.dispatchedWaves < record.plan.waves.length) return state.dispatchedWaves;
  return record.plan.waves[state.wave]?.forced ? state.wave : undefined;
}

/**
 * Takes exclusions back (the reverse of `exclude`). Each key must be one the rollout excluded, named as it was
 * (a workload under an excluded namespace is refused: include the namespace). A unit whose wave has not started
 * simply moves with it; a unit whose wave started without it leaves that wave and joins the next wave that has not
 * started (or the running forced wave), recorded in the membership like a comeback, so every count stays true.
 */
export function includeBack(
  record: RolloutRecord,
  state: RolloutState,
  units: readonly ExcludedUnit[],
): InclusionResult {
  const keys = [...new Set(units.map(excludedUnitKey))];
  const problems = units.flatMap((u, i) => {
    const key = excludedUnitKey(u);
    if (state.excluded.includes(key)) return [];
    const under = state.excluded.find((x) => key.startsWith(`${x}/`));
    const message = under
      ? `${key} is excluded by the namespace exclusion ${under}: include ${under} back`
      : `${key} is not excluded from rollout ${record.id}`;
    return [{ path: `units[${i}]`, message }];
  });
  if (problems.length > 0) return { ok: false, why: `${problems.length} unit(s) are not excluded`, problems };
  const excluded = state.excluded.filter((x) => !keys.includes(x));
  const target = comebackWave(record, state);
  // units of started waves the inclusion brings back (and no other exclusion still covers); a unit of the running
  // forced wave itself is back in it already once no exclusion covers it
  const moved = new Map<number, string[]>();
  for (let w = 0; w < Math.min(state.dispatchedWaves, record.plan.waves.length); w++) {
    if (w === target) continue;
    const back = waveUnitsOf(record, state, w)
      .map((u) => u.unit)
      .filter((u) => isExcluded(u, keys) && !isExcluded(u, excluded));
    if (back.length > 0) moved.set(w, back);
  }
  if (moved.size === 0) return { ok: true, excluded, membership: state.membership, note: keys.join(', ') };
  if (target === undefined)
    return {
      ok: false,
      why: `no wave is left to take ${keys.join(', ')} back: every wave has started and the last is not forced`,
    };
  const m = state.membership ?? emptyMembership();
  const skipped = { ...m.skipped };
  const added = { ...m.added };
  let count = 0;
  for (const [w, back] of moved) {
    // it leaves the wave it was in (which need not wait for it any more) and joins the target
    skipped[String(w)] = [...(skipped[String(w)] ?? []), ...back];
    added[String(target)] = [...new Set([...(added[String(target)] ?? []), ...back])];
    count += back.length;
  }
  const name = record.plan.waves[target]?.name ?? String(target);
  return {
    ok: true,
    excluded,
    membership: { ...m, skipped, added },
    note: `${keys.join(', ')} (${count} units into wave "${name}")`,
  };
}
