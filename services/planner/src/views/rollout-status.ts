import {
  RolloutPhase,
  TransitionTrigger,
  WavePhase,
  type RolloutStatus,
  type RolloutSummary,
  type UnitCounts,
  type VmHostCounts,
  type WaveStatus,
} from '@meshwave/contracts';
import type { Observations, RolloutRecord, RolloutState } from '../core/rollout-state.js';
import { desiredRevisionOf, isExcluded } from '../core/unit-observations.js';
import { FAILED_KEPT, waveTallies, type ClusterTally } from '../core/unit-tallies.js';
import { waveHostTallies } from '../core/vm-host-tallies.js';
import { buildGatewayStatus } from './gateway-status.js';
import { buildAmbientStatus } from './ambient-status.js';
import { buildMembershipStatus } from './membership-status.js';
import { burndownOf } from '../core/deadline-status.js';

const zeroUnits = (): { -readonly [K in keyof UnitCounts]: number } => ({
  pending: 0,
  moving: 0,
  converged: 0,
  failed: 0,
  excluded: 0,
});
const zeroHosts = (): { -readonly [K in keyof VmHostCounts]: number } => ({
  pending: 0,
  upgrading: 0,
  converged: 0,
  failed: 0,
});

export function summarizeRollout(record: RolloutRecord, state: RolloutState): RolloutSummary {
  return withStateOf(rolloutHeadOf(record), state);
}

/** What a rollout's summary takes from its record: fixed once the rollout is created. */
export type RolloutHead = Omit<RolloutSummary, 'phase' | 'wavePhase' | 'wave' | 'updatedAt'>;

export function rolloutHeadOf(record: RolloutRecord): RolloutHead {
  return {
    id: record.id,
    name: record.spec.metadata.name,
    from: record.spec.spec.from,
    to: record.spec.spec.to,
    waves: record.plan.waves.length,
    createdAt: record.createdAt,
    deadline: record.spec.spec.deadline,
  };
}

/** A rollout's summary: its head and where its state is now. */
export function withStateOf(head: RolloutHead, state: RolloutState): RolloutSummary {
  return {
    ...head,
    phase: state.phase,
    ...(state.wavePhase !== undefined ? { wavePhase: state.wavePhase } : {}),
    wave: state.wave,
    updatedAt: state.updatedAt,
  };
}

const TERMINAL_PHASES: ReadonlySet<string> = new Set([
  RolloutPhase.Completed,
  RolloutPhase.RolledBack,
  RolloutPhase.Failed,
]);

/**
 * What a wave is doing, told as it is (ADR 0037): a wave being failed back is `rolling-back` until its units are
 * back (`rolled-back` after; `aborted` or `rollback-failed` when the rollout ended before), and the waves a finished
 * rollout never started are `not-started`: never pending, never awaiting an approval nobody can give any more.
 */
function waveState(record: RolloutRecord, state: RolloutState, w: number): string {
  const dispatched = w < state.dispatchedWaves;
  const endedBy = state.phase === RolloutPhase.Failed ? state.history.at(-1)?.trigger : undefined;
  if (state.rolledBackWaves.includes(w) || (state.rollbackAll && dispatched)) {
    if (state.phase === RolloutPhase.RollingBack) return 'rolling-back';
    if (endedBy === TransitionTrigger.Abort) return 'aborted';
    if (endedBy === TransitionTrigger.RollbackFailed) return 'rollback-failed';
    return 'rolled-back';
  }
  if (state.phase === RolloutPhase.Completed) return 'passed';
  if (w < state.wave) return 'passed';
  if (TERMINAL_PHASES.has(state.phase) && !dispatched) return 'not-started';
  if (w > state.wave) return 'pending';
  if (endedBy === TransitionTrigger.Abort) return 'aborted';
  const failed =
    state.verdicts.some((v) => v.wave === w && v.outcome === 'Failed') &&
    state.phase !== RolloutPhase.Running &&
    state.phase !== RolloutPhase.Paused;
  if (failed) return 'failed';
  if (!dispatched)
    return record.plan.waves[w]?.approval && !state.approvedWaves.includes(w) ? 'awaiting-approval' : 'pending';
  return 'active';
}

/** Wave `w`'s units by status, per cluster (exclusions counted apart), and its failed and waiting units. */
function waveUnitStatus(
  record: RolloutRecord,
  state: RolloutState,
  observations: Observations,
  w: number,
): Pick<WaveStatus, 'units' | 'clusters' | 'held' | 'failedUnits'> & { readonly onTarget: number } {
  const tallies = waveTallies(record, state, observations, w);
  const counts = zeroUnits();
  const perCluster = new Map<string, { units: ReturnType<typeof zeroUnits>; onTarget: number }>();
  const clusterOf = (cluster: string) => {
    let c = perCluster.get(cluster);
    if (c === undefined) perCluster.set(cluster, (c = { units: zeroUnits(), onTarget: 0 }));
    return c;
  };
  // exclusions count against the wave's planned units
  for (const unit of state.excluded.length > 0 ? (record.plan.waves[w]?.units ?? []) : []) {
    if (!isExcluded(unit, state.excluded)) continue;
    counts.excluded++;
    clusterOf(unit.split('/')[0] ?? '').units.excluded++;
  }
  let onTarget = 0;
  for (const t of tallies) {
    onTarget += t.onTarget;
    if (t.total === 0) continue;
    const c = clusterOf(t.cluster);
    c.onTarget = t.onTarget;
    for (const status of ['pending', 'moving', 'converged', 'failed'] as const) {
      counts[status] += t.counts[status];
      c.units[status] += t.counts[status];
    }
  }
  const failed = tallies.flatMap((t) => t.failed).sort((a, b) => a.at - b.at);
  return {
    onTarget,
    units: counts,
    clusters: [...perCluster]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([cluster, c]) => ({ cluster, units: c.units, onTarget: c.onTarget })),
    ...heldOf(tallies),
    failedUnits: failed.slice(0, FAILED_KEPT).map(({ unit: u }) => ({
      unit: u.unit,
      ...(u.reason !== undefined ? { reason: u.reason } : {}),
      ...(u.message !== undefined ? { message: u.message } : {}),
    })),
  };
}

/** Wave `w`'s VM hosts by status, per group. */
function waveHostStatus(
  record: RolloutRecord,
  state: RolloutState,
  observations: Observations,
  w: number,
): Pick<WaveStatus, 'vmHosts' | 'vmGroups'> & { readonly onTarget: number } {
  const hostCounts = zeroHosts();
  let onTarget = 0;
  const tallies = waveHostTallies(record, state, observations, w);
  for (const g of tallies) {
    onTarget += g.onTarget;
    for (const status of ['pending', 'upgrading', 'converged', 'failed'] as const)
      hostCounts[status] += g.counts[status];
  }
  return {
    onTarget,
    vmHosts: hostCounts,
    vmGroups: tallies
      .map((g) => ({ group: g.group, hosts: { ...g.counts }, onTarget: g.onTarget }))
      .sort((a, b) => a.group.localeCompare(b.group)),
  };
}

/**
 * Each wave's status from the stored state and the latest reports. Summed from per-cluster and per-group tallies
 * (core/unit-tallies.ts, core/vm-host-tallies.ts), each counted again only when its cluster or group reported
 * since: a status read costs the waves' clusters and groups plus the units of those that reported (issue 15; it
 * walked every unit and host of the plan, 8–11% of fleet (b)'s CPU under the operator's 300 ms poll).
 */
export function buildWaveStatuses(
  record: RolloutRecord,
  state: RolloutState,
  observations: Observations,
): WaveStatus[] {
  return record.plan.waves.map((planned, w) => {
    const { onTarget: unitsOnTarget, ...units } = waveUnitStatus(record, state, observations, w);
    const { onTarget: hostsOnTarget, ...hosts } = waveHostStatus(record, state, observations, w);
    return {
      index: w,
      name: planned.name,
      state: waveState(record, state, w),
      desiredRevision: desiredRevisionOf(record, state, w),
      onTarget: { units: unitsOnTarget, vmHosts: hostsOnTarget },
      earliestStart: planned.earliestStart,
      approval: planned.approval,
      approved: state.approvedWaves.includes(w),
      forced: planned.forced,
      soakSeconds: planned.soakSeconds,
      units: units.units,
      clusters: units.clusters,
      vmHosts: hosts.vmHosts,
      vmGroups: hosts.vmGroups,
      ...(units.held !== undefined ? { held: units.held } : {}),
      failedUnits: units.failedUnits,
    };
  });
}

/**
 * What `GET /v1/rollouts/{id}` shows: derived each time from the stored state and the latest reports
 * (status is reconstituted from the state of the world, never stored twice). `waves`: the wave statuses already
 * built from these same inputs (a status read's cache, rollout-status-cache.ts).
 */
export function buildRolloutStatus(
  record: RolloutRecord,
  state: RolloutState,
  observations: Observations,
  now: Date,
  options: { readonly nextWakeAt?: string; readonly waves?: readonly WaveStatus[] } = {},
): RolloutStatus {
  const { nextWakeAt } = options;
  const waves = options.waves ?? buildWaveStatuses(record, state, observations);
  const estimate = estimateCompletion(record, state, now);
  const membership = buildMembershipStatus(record, state);
  const gateways = buildGatewayStatus(record, state, observations);
  const ambient = buildAmbientStatus(record, state, observations);
  return {
    ...summarizeRollout(record, state),
    reason: state.reason,
    leaderEpoch: writtenEpochOf(state),
    generation: state.generation,
    ...traceIdOf(record.traceparent),
    waveStatuses: [...waves],
    ...(gateways !== undefined ? { gateways } : {}),
    ...(ambient !== undefined ? { ambient } : {}),
    gateVerdicts: state.verdicts.slice(-100).map((v) => ({ ...v })),
    excluded: [...state.excluded],
    approvedWaves: [...state.approvedWaves],
    estimatedCompletion: estimate.toISOString(),
    // a finished rollout risks no deadline any more, whenever it ended
    deadlineAtRisk:
      !TERMINAL_PHASES.has(state.phase) &&
      (estimate.getTime() > Date.parse(record.spec.spec.deadline) || state.deadlineTrack?.atRisk !== undefined),
    ...(nextWakeAt !== undefined ? { nextWakeAt } : {}),
    ...(membership !== undefined ? { membership } : {}),
    ...(state.deadlineTrack !== undefined ? { burndown: burndownOf(state.deadlineTrack) } : {}),
    transitions: state.history.slice(-200).map((t) => ({ ...t })),
  };
}

/** The trace id a traceparent (`00-<trace id>-<span id>-<flags>`) names, as a spreadable field. */
function traceIdOf(traceparent: string | undefined): { traceId?: string } {
  const id = traceparent?.split('-')[1];
  return id !== undefined && /^[0-9a-f]{32}$/.test(id) ? { traceId: id } : {};
}

/**
 * Why a wave is held (ADR 0035): its pending units whose agents say why they start none of them (the target's
 * control plane not ready, a tag that cannot be pointed). The most common reason wins; nothing when none waits.
 */
function heldOf(tallies: readonly ClusterTally[]): Pick<WaveStatus, 'held'> {
  const counts = new Map<string, number>();
  for (const t of tallies) for (const [reason, x] of t.waiting) counts.set(reason, (counts.get(reason) ?? 0) + x.count);
  if (counts.size === 0) return {};
  const reason = [...counts].sort(([a, x], [b, y]) => y - x || a.localeCompare(b))[0]![0];
  const holding = tallies.filter((t) => t.waiting.has(reason));
  const first = holding.map((t) => t.waiting.get(reason)!).sort((a, b) => a.firstAt - b.firstAt)[0]!.first;
  return {
    held: {
      reason,
      ...(first.message !== undefined ? { message: first.message } : {}),
      clusters: [...new Set(holding.map((t) => t.cluster))].sort(),
      units: counts.get(reason)!,
    },
  };
}

/**
 * When the rollout will be done if the rest goes as planned: the plan's durations of the waves left, starting
 * now (or at their planned start when that is later). Terminal rollouts are done when they last changed.
 */
export function estimateCompletion(record: RolloutRecord, state: RolloutState, now: Date): Date {
  if (
    state.phase === RolloutPhase.Completed ||
    state.phase === RolloutPhase.RolledBack ||
    state.phase === RolloutPhase.Failed
  )
    return new Date(state.updatedAt);
  let t = now.getTime();
  const waves = record.plan.waves;
  for (let w = state.wave; w < waves.length; w++) {
    const p = waves[w]!;
    const converge = Math.max(0, Date.parse(p.estimatedConverged) - Date.parse(p.earliestStart));
    let start = Math.max(t, Date.parse(record.notBefore[w] ?? p.earliestStart) || t);
    let remaining = converge + p.soakSeconds * 1000;
    if (w === state.wave && state.phase === RolloutPhase.Running) {
      if (state.wavePhase === WavePhase.Soaking && state.soakStartedAt)
        remaining = Math.max(0, Date.parse(state.soakStartedAt) + p.soakSeconds * 1000 - t);
      else if (state.wavePhase === WavePhase.Gating) remaining = 0;
      else if (state.wavePhase === WavePhase.Converging && state.waveDispatchedAt)
        start = Math.min(start, Date.parse(state.waveDispatchedAt));
    }
    t = Math.max(t, start + remaining);
  }
  return new Date(t);
}

/** The epoch the rollout was last written under; for a state stored before that was kept, its newest send's. */
function writtenEpochOf(state: RolloutState): number {
  return state.epoch ?? Math.max(0, ...Object.values(state.targets).map((t) => t.epoch));
}
