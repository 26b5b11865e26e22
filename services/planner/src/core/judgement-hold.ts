// Holding judgement (issue 15): a failure that rests on time is only believed when whoever measured the time was
// not starved. The planner holds (Inconclusive, judged again later) instead of failing while its own event loop
// lags past its threshold, and holds a unit's deadline failure while the cluster agent that judged it (or the
// vm-bridge, for VM hosts) reports itself Degraded.
import { GateOutcome, GateReason, UnitFailureReason, type Degraded } from '@meshwave/contracts';
import type { SourceVerdict } from './health-source.js';
import type { Observations } from './rollout-state.js';
import { UnitStatus, type UnitObservation, type VmHostObservation } from './unit-observations.js';

/** The key of the vm-bridge's health report among the clusters' (its source is `vm-bridge` or `vm-bridge/<id>`). */
export const VM_BRIDGE_HEALTH_KEY = 'vm-bridge';

/** The planner's own event-loop delay when it decides, and the threshold past which it holds judgement. */
export interface PlannerLoad {
  /** the event-loop delay measured now (p99 of the last window, or longer when the loop is stalled right now) */
  readonly lagMs: number;
  readonly thresholdMs: number;
  /**
   * the last instant (clock ms) the loop was found lagging past the threshold: the planner heard its agents late
   * until then, so an agent's silence counts from there (absent: never)
   */
  readonly starvedAt?: number;
}

/** Whether the planner's own loop lags too much to judge anything on time. */
export function isStarved(load: PlannerLoad | undefined): boolean {
  return load !== undefined && load.lagMs > load.thresholdMs;
}

/**
 * How long a Degraded health report is believed: four of the agent's health intervals (15 s). A source that said it
 * was Degraded and then went silent (crashed, partitioned) holds nothing after that: its failures count again.
 */
export const DEGRADED_REPORT_MAX_AGE_MS = 60_000;

/** What the source keyed `key` (a cluster name, or the vm-bridge) says of itself in its latest, recent health report. */
export function degradedOf(observations: Observations, key: string, now: Date): Degraded | undefined {
  const received = observations.health.get(key);
  if (received === undefined) return undefined;
  if (now.getTime() - Date.parse(received.receivedAt) > DEGRADED_REPORT_MAX_AGE_MS) return undefined;
  return received.report.degraded;
}

const HELD = 'held: ';

/** Whether a VM host's reason says its failure is held (holdVmHosts). */
export function isHeldReason(reason: string | undefined): boolean {
  return reason?.startsWith(HELD) ?? false;
}

function heldBecause(who: string, d: Degraded): string {
  const ms = d.lagMs ?? d.unreachableMs;
  return `${HELD}${who} reports itself degraded (${d.reason}${ms !== undefined ? `, ${Math.round(ms)} ms` : ''})`;
}

/**
 * Units failed on a progress deadline by a Degraded cluster agent count as still moving, until it is well again.
 * The same array when none is held (the common case: a gate watches every unit of a wave at every decision).
 */
export function holdUnits(
  units: readonly UnitObservation[],
  observations: Observations,
  now: Date,
): readonly UnitObservation[] {
  let out: UnitObservation[] | undefined;
  for (let i = 0; i < units.length; i++) {
    const u = units[i]!;
    if (u.status !== UnitStatus.Failed || u.reason !== UnitFailureReason.ProgressDeadlineExceeded) continue;
    const d = degradedOf(observations, u.cluster, now);
    if (d === undefined) continue;
    out ??= units.slice();
    out[i] = {
      ...u,
      status: UnitStatus.Moving,
      reason: GateReason.JudgementHeld,
      message: heldBecause(`cluster ${u.cluster}`, d),
    };
  }
  return out ?? units;
}

/** Failed VM hosts count as still upgrading while the vm-bridge that judged them reports itself Degraded. */
export function holdVmHosts(
  hosts: readonly VmHostObservation[],
  observations: Observations,
  now: Date,
): readonly VmHostObservation[] {
  const d = degradedOf(observations, VM_BRIDGE_HEALTH_KEY, now);
  if (d === undefined) return hosts;
  return hosts.map((h) =>
    h.status === 'failed' ? { ...h, status: 'upgrading', reason: heldBecause('the vm-bridge', d) } : h,
  );
}

/** A Failed verdict reached while the planner itself is starved is held: Inconclusive, judged again later. */
export function holdVerdict<V extends SourceVerdict>(verdict: V, load: PlannerLoad | undefined): V {
  if (verdict.outcome !== GateOutcome.Failed || !isStarved(load) || load === undefined) return verdict;
  return {
    ...verdict,
    outcome: GateOutcome.Inconclusive,
    reason: GateReason.JudgementHeld,
    message: `held: the planner's event loop lags ${Math.round(load.lagMs)} ms (threshold ${load.thresholdMs} ms); would fail: ${verdict.message}`,
    failed: [],
  };
}

/** The Inconclusive verdict that names the held failures among what a gate looks at; undefined when none is held. */
export function heldFailures(
  units: readonly UnitObservation[],
  vmHosts: readonly VmHostObservation[],
): SourceVerdict | undefined {
  const held = [
    ...units.filter((u) => u.reason === GateReason.JudgementHeld).map((u) => `${u.unit} (${u.message ?? 'held'})`),
    ...vmHosts.filter((h) => h.fresh && isHeldReason(h.reason)).map((h) => `${h.host} (${h.reason})`),
  ];
  if (held.length === 0) return undefined;
  const shown = held.length <= 5 ? held.join(', ') : `${held.slice(0, 5).join(', ')} and ${held.length - 5} more`;
  return {
    outcome: GateOutcome.Inconclusive,
    reason: GateReason.JudgementHeld,
    message: `failure not judged while its source is degraded: ${shown}`,
    failed: [],
  };
}
