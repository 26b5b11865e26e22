import { RolloutPhase, WavePhase, resolvePercentOrCount, type Burndown, type SlowCluster } from '@meshwave/contracts';
import type { DecisionInput } from './decision.js';
import type { RolloutRecord, RolloutState } from './rollout-state.js';
import type { Stepper } from './stepper.js';
import { desiredRevisionOf } from './unit-observations.js';
import { waveTallies, type ClusterTally } from './unit-tallies.js';
import { waveUnitsOf } from './wave-units.js';
import { degradedOf, isStarved } from './judgement-hold.js';

/** The burn-down as the engine keeps it: the status's, and when it was last worked out. */
export type DeadlineTrack = Burndown & { readonly checkedAt: string };

/** A look at the whole rollout costs its size: at most one per this interval unless a transition happened. */
export const BURNDOWN_INTERVAL_MS = 30_000;
const MAX_SAMPLES = 500;
const HOUR = 3_600_000;

const minutes = (ms: number): string => `${Math.round(ms / 60_000)}m`;

/** What is left of the soaks: the current wave's (all of it until it converged) and every later wave's. */
function soaksLeft(record: RolloutRecord, state: RolloutState, now: number): number {
  const waves = record.plan.waves;
  let left = 0;
  for (let w = state.wave + 1; w < waves.length; w++) left += (waves[w]?.soakSeconds ?? 0) * 1000;
  const soak = (waves[state.wave]?.soakSeconds ?? 0) * 1000;
  if (state.wavePhase === WavePhase.Soaking && state.soakStartedAt !== undefined)
    return left + Math.max(0, Date.parse(state.soakStartedAt) + soak - now);
  return state.wavePhase === WavePhase.Gating ? left : left + soak;
}

/** The plan's time for a wave to converge: from its planned start to its estimated convergence. */
function plannedConverge(record: RolloutRecord, w: number): number {
  const wave = record.plan.waves[w];
  if (wave === undefined) return 0;
  return Math.max(0, Date.parse(wave.estimatedConverged) - Date.parse(wave.earliestStart));
}

/**
 * A cluster's units converged per ms in the current wave, or 0 where its rate says nothing yet (the plan's estimate
 * stands). Measured from when the planner first saw its agent's report of the wave (`ackedAt`), not from the
 * dispatch: an agent that read its commands late has not moved slowly. It says something once a batch (the
 * cluster's maxUnavailable) converged or the plan's time for one batch has passed since, not from the first few
 * units; and never while the cluster's agent reports itself Degraded or the planner's own loop is starved, whose
 * pace is their starvation's, not the cluster's (issue 15: no judgement from a starved process).
 */
function rateOf(
  input: DecisionInput,
  state: RolloutState,
  cluster: string,
  t: ClusterTally,
  dispatchedAt: number,
): number {
  const { record } = input;
  const acked = state.targets[`cluster/${cluster}`]?.ackedAt;
  const since = acked === undefined ? undefined : Date.parse(acked);
  if (since === undefined || since < dispatchedAt) return 0;
  if (isStarved(input.plannerLoad) || degradedOf(input.observations, cluster, input.now) !== undefined) return 0;
  const elapsed = Math.max(1, input.now.getTime() - since);
  const planFor = record.plan.waves[state.wave]?.clusters.find((x) => x.cluster === cluster);
  const batchMs = plannedConverge(record, state.wave) / Math.max(1, planFor?.batches ?? 1);
  const measured = t.counts.converged >= Math.min(planFor?.maxUnavailable ?? 1, t.total) || elapsed >= batchMs;
  return measured ? t.counts.converged / elapsed : 0;
}

/**
 * Units on `to` now and the projected completion (ADR 0036 addendum): the current wave's units in each cluster at
 * the rate they converged since the wave's dispatch (the plan's estimate for the wave while none converged yet),
 * then every later wave as planned. A cluster's rate is never taken over an earlier wave and its soak: a canary of
 * 1% that soaked an hour says nothing about how fast the cluster moves the next 99%.
 */
export function projectDeadline(input: DecisionInput, state: RolloutState): Omit<DeadlineTrack, 'samples'> {
  const { record } = input;
  const now = input.now.getTime();
  const to = record.spec.spec.to;
  // summed from each wave's per-cluster tallies: a decision costs the clusters that reported since the last one,
  // not every unit of the plan (issue 15)
  const perCluster = new Map<string, { total: number; converged: number; current?: ClusterTally }>();
  let onTarget = 0;
  let total = 0;
  for (const w of record.plan.waves.keys()) {
    const onTo = desiredRevisionOf(record, state, w) === to;
    for (const t of waveTallies(record, state, input.observations, w)) {
      if (t.total === 0) continue;
      const c = perCluster.get(t.cluster) ?? { total: 0, converged: 0 };
      c.total += t.total;
      total += t.total;
      if (onTo) {
        c.converged += t.counts.converged;
        onTarget += t.counts.converged;
      }
      if (w === state.wave && onTo) c.current = t;
      perCluster.set(t.cluster, c);
    }
  }
  const converging = state.wavePhase === WavePhase.Converging && state.waveDispatchedAt !== undefined;
  const dispatchedAt = converging ? Date.parse(state.waveDispatchedAt!) : now;
  // after the current wave converged (and soaked): the later waves' convergence as planned, and every soak left
  let after = soaksLeft(record, state, now);
  for (let w = state.wave + 1; w < record.plan.waves.length; w++) after += plannedConverge(record, w);
  // a wave not dispatched yet, or one the units of which are not moving to `to`: its plan's estimate from now
  const planned = dispatchedAt + plannedConverge(record, state.wave);
  const deadline = Date.parse(record.spec.spec.deadline);
  const slow: SlowCluster[] = [];
  let projected = now + after;
  for (const [cluster, c] of [...perCluster].sort(([a], [b]) => a.localeCompare(b))) {
    const t = c.current;
    const left = t === undefined || state.wavePhase !== WavePhase.Converging ? 0 : t.total - t.counts.converged;
    const perMs = t === undefined ? 0 : rateOf(input, state, cluster, t, dispatchedAt);
    const end = (left === 0 ? now : perMs > 0 ? now + left / perMs : Math.max(now, planned)) + after;
    projected = Math.max(projected, end);
    if (end > deadline)
      slow.push({
        cluster,
        remaining: c.total - c.converged,
        ...(perMs > 0 ? { unitsPerHour: Math.round(perMs * HOUR * 10) / 10 } : {}),
        projectedCompletion: new Date(end).toISOString(),
        lateSeconds: Math.round((end - deadline) / 1000),
      });
  }
  return {
    total,
    onTarget,
    projectedCompletion: new Date(projected).toISOString(),
    deadline: record.spec.spec.deadline,
    slowClusters: slow,
    checkedAt: input.now.toISOString(),
  };
}

/** How much the current wave's concurrency may grow: the ceiling over its planned maxUnavailable, per cluster. */
function maxFactorOf(record: RolloutRecord, state: RolloutState): number {
  const ceiling = record.spec.spec.pacing?.maxUnavailableCeiling;
  const wave = record.plan.waves[state.wave];
  if (ceiling === undefined || wave === undefined) return 1;
  const counts = new Map<string, number>();
  for (const u of waveUnitsOf(record, state, state.wave)) counts.set(u.cluster, (counts.get(u.cluster) ?? 0) + 1);
  let factor = Infinity;
  for (const c of wave.clusters) {
    const n = counts.get(c.cluster) ?? c.units;
    if (n === 0) continue;
    factor = Math.min(factor, resolvePercentOrCount(ceiling, n) / Math.max(1, c.maxUnavailable));
  }
  return Number.isFinite(factor) ? Math.max(1, factor) : 1;
}

/** Within `pacing.maxUnavailableCeiling`, the concurrency factor that catches up, or why it cannot. */
function paceFor(
  record: RolloutRecord,
  state: RolloutState,
  projected: number,
  now: number,
): { factor: number; note: string } {
  const prev = state.deadlineTrack?.pacing?.factor ?? 1;
  if (record.spec.spec.pacing === undefined)
    return { factor: prev, note: 'no pacing.maxUnavailableCeiling in the file: concurrency stays as planned' };
  const deadline = Date.parse(record.spec.spec.deadline);
  const ceiling = maxFactorOf(record, state);
  if (deadline <= now) return { factor: prev, note: 'the deadline has passed: no concurrency catches up' };
  // The observed rates already run at `prev`: needing `wanted` times faster means prev × wanted.
  const wanted = prev * ((projected - now) / (deadline - now));
  const factor = Math.max(prev, Math.min(wanted, ceiling));
  if (wanted <= ceiling) return { factor, note: `concurrency raised ×${factor.toFixed(1)} to catch up` };
  const still = now + ((projected - now) * prev) / factor - deadline;
  return {
    factor,
    note: `cannot catch up: at pacing.maxUnavailableCeiling (×${factor.toFixed(1)}) the projection still misses the deadline by ${minutes(still)}`,
  };
}

/**
 * The deadline at runtime, each look (at most every BURNDOWN_INTERVAL_MS unless a transition happened): a
 * burn-down sample when the count changed; DeadlineAtRisk set (with which clusters are slow, by how much) or
 * cleared, each change a condition event; concurrency raised within the ceiling while at risk.
 */
export function trackDeadline(s: Stepper, input: DecisionInput): void {
  const st = s.state;
  // While running, and once more as it completes (the burn-down's last sample).
  const completing = st.phase === RolloutPhase.Completed && s.transitions.length > 0;
  if ((st.phase !== RolloutPhase.Running && !completing) || st.dispatchedWaves === 0) return;
  const now = input.now.getTime();
  const prev = st.deadlineTrack;
  if (prev !== undefined && s.transitions.length === 0 && now - Date.parse(prev.checkedAt) < BURNDOWN_INTERVAL_MS)
    return;
  const p = projectDeadline(input, st);
  const last = prev?.samples.at(-1);
  const samples =
    last?.onTarget === p.onTarget
      ? (prev?.samples ?? [])
      : [...(prev?.samples ?? []), { at: p.checkedAt, onTarget: p.onTarget }].slice(-MAX_SAMPLES);
  const projected = Date.parse(p.projectedCompletion);
  const late = !completing && projected > Date.parse(p.deadline);
  let atRisk: DeadlineTrack['atRisk'];
  let pacing: DeadlineTrack['pacing'] = prev?.pacing;
  if (late) {
    pacing = paceFor(input.record, st, projected, now);
    const slow = p.slowClusters
      .slice(0, 5)
      .map(
        (c) =>
          `${c.cluster} (${c.remaining} units left at ${c.unitsPerHour !== undefined ? `${c.unitsPerHour}/h` : 'no unit converged yet'}: ${minutes(c.lateSeconds * 1000)} late)`,
      )
      .join(', ');
    const reason = `projected ${p.projectedCompletion}, ${minutes(projected - Date.parse(p.deadline))} past the deadline ${p.deadline}; slow: ${slow || 'the soaks left'}; ${pacing.note}`;
    atRisk = { since: prev?.atRisk?.since ?? p.checkedAt, reason };
    if (prev?.atRisk === undefined) s.conditions.push({ type: 'DeadlineAtRisk', status: true, message: reason });
  } else if (prev?.atRisk !== undefined) {
    s.conditions.push({
      type: 'DeadlineAtRisk',
      status: false,
      message: `back on pace: projected ${p.projectedCompletion}, before the deadline ${p.deadline}`,
    });
  }
  s.state = {
    ...s.state,
    deadlineTrack: { ...p, samples, ...(atRisk ? { atRisk } : {}), ...(pacing ? { pacing } : {}) },
  };
}
