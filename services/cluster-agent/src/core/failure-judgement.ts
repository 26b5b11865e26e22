import { UnitFailureReason, UnitState } from '@meshwave/contracts';
import type { UnitAssessment } from './unit-model.js';

/**
 * What a failure verdict rests on. A verdict read from the watch cache may be a cache that has not caught up
 * (a starved loop processes its watch events late), and a deadline judged by a loop that was blocked measures
 * the block, not the rollout: under load the agent would invent failures and the planner would act on them.
 */
export interface JudgementBasis {
  /** the observation was read from the apiserver just now, not from the watch cache */
  readonly fresh: boolean;
  /** the agent's event-loop delay now, ms */
  readonly loopDelayMs: number;
  /** past this delay the agent is Degraded and judges no failure */
  readonly loopDelayThresholdMs: number;
}

/** Why a failure verdict was held instead of reported. */
export const FailureHold = {
  /** the cache says failed: read the unit from the apiserver and judge again */
  Confirm: 'confirm',
  /** the agent's own loop lags past its threshold: judge again once it has caught up */
  Lagging: 'lagging',
} as const;
export type FailureHold = (typeof FailureHold)[keyof typeof FailureHold];

/** Verdicts that rest on the workloads' and pods' state or on the time since a restart. */
const JUDGED_ON_STATE: ReadonlySet<string> = new Set([
  UnitFailureReason.ProgressDeadlineExceeded,
  UnitFailureReason.CrashLoop,
  UnitFailureReason.SidecarMismatch,
]);

export const loopLagging = (basis: JudgementBasis): boolean => basis.loopDelayMs > basis.loopDelayThresholdMs;

/**
 * A unit fails only on fresh apiserver state and while the agent's loop keeps up; otherwise the verdict is held
 * and the unit stays in flight (it was restarting), with the hold saying what would settle it.
 */
export function judgeFailure(assessment: UnitAssessment, basis: JudgementBasis): UnitAssessment {
  if (assessment.state !== UnitState.Failed || !JUDGED_ON_STATE.has(assessment.reason ?? '')) return assessment;
  // Only a deadline rests on a time this loop measured: a crash loop or a sidecar mismatch read fresh stands even
  // while the loop lags (otherwise a lagging agent could hold a real failure for as long as it lags).
  const lagging = loopLagging(basis) && assessment.reason === UnitFailureReason.ProgressDeadlineExceeded;
  if (!lagging && basis.fresh) return assessment;
  const { reason: _reason, message: _message, ...rest } = assessment;
  return {
    ...rest,
    state: UnitState.Restarting,
    inFlight: true,
    hold: lagging ? FailureHold.Lagging : FailureHold.Confirm,
    message: lagging
      ? `${assessment.reason ?? 'failure'} not judged: this agent's event loop is ${Math.round(basis.loopDelayMs)}ms behind (threshold ${basis.loopDelayThresholdMs}ms)`
      : `${assessment.reason ?? 'failure'} seen in the watch cache: confirming on the apiserver`,
  };
}
