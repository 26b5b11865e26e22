import { RolloutPhase, TransitionTrigger } from '@meshwave/contracts';
import type { OperatorResult } from './operator-actions.js';
import type { Observations, RolloutRecord, RolloutState } from './rollout-state.js';
import { TERMINAL_PHASES, transition } from './transition-table.js';
import { UnitStatus, observeUnits } from './unit-observations.js';

export interface UnitRetryRequest {
  /** unit keys to retry; absent: every failed unit */
  readonly units?: readonly string[];
  readonly reason: string;
  readonly actor: string;
  readonly now: Date;
}

/** Phases in which a failed unit may be retried: moving, or stopped for a person. */
const RETRYABLE: ReadonlySet<RolloutPhase> = new Set([RolloutPhase.Running, RolloutPhase.Paused, RolloutPhase.Halted]);

/** The units of the dispatched waves (not failed back) whose latest report says they failed on the target. */
export function failedUnitsOf(record: RolloutRecord, state: RolloutState, observations: Observations): string[] {
  const waves = Array.from({ length: state.dispatchedWaves }, (_, w) => w).filter(
    (w) => !state.rollbackAll && !state.rolledBackWaves.includes(w),
  );
  return observeUnits(record, state, observations, waves)
    .filter((u) => u.fresh && u.status === UnitStatus.Failed)
    .map((u) => u.unit);
}

/**
 * An operator's retry of failed units on the same target, pure: each named (or every failed) unit gets its next
 * attempt, which the agent restarts once more; a Halted rollout dispatches its wave again. Units that are not
 * failed units of the rollout are refused with their `units[i]` path.
 */
export function retryFailedUnits(
  record: RolloutRecord,
  state: RolloutState,
  observations: Observations,
  request: UnitRetryRequest,
): OperatorResult {
  if (TERMINAL_PHASES.has(state.phase) || !RETRYABLE.has(state.phase))
    return { ok: false, why: `cannot retry units of a rollout that is ${state.phase}: only Running, Paused or Halted` };
  const failed = failedUnitsOf(record, state, observations);
  const known = new Set(failed);
  const problems = (request.units ?? []).flatMap((unit, i) =>
    known.has(unit) ? [] : [{ path: `units[${i}]`, message: `${unit} is not a failed unit of rollout ${record.id}` }],
  );
  if (problems.length > 0) return { ok: false, why: 'only failed units can be retried', problems };
  const units = request.units !== undefined ? [...new Set(request.units)] : failed;
  if (units.length === 0) return { ok: false, why: `rollout ${record.id} has no failed unit to retry` };
  const retries = { ...state.retries };
  for (const u of units) retries[u] = (retries[u] ?? 0) + 1;
  const shown = units.length <= 5 ? units.join(', ') : `${units.slice(0, 5).join(', ')} and ${units.length - 5} more`;
  const message = `retry of ${shown} on ${record.spec.spec.to} by ${request.actor}: ${request.reason}`;
  if (state.phase !== RolloutPhase.Halted)
    return {
      ok: true,
      state: { ...state, retries, updatedAt: request.now.toISOString() },
      transitions: [],
      message,
    };
  // Halted by the failure: the wave goes out again, its gate judging the retried units afresh.
  const t = transition(state, 'Running/Dispatching', TransitionTrigger.Retry, message, request.now, request.actor);
  return {
    ok: true,
    state: { ...t.state, retries, gateRetryAt: undefined, soakStartedAt: undefined },
    transitions: [t.record],
    message,
  };
}
