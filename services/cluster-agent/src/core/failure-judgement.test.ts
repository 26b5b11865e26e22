import { describe, expect, it } from 'vitest';
import { UnitFailureReason, UnitState } from '@meshwave/contracts';
import { FailureHold, judgeFailure, type JudgementBasis } from './failure-judgement.js';
import type { UnitAssessment } from './unit-model.js';

const newAssessment = (over: Partial<UnitAssessment> = {}): UnitAssessment => ({
  key: 'shop',
  state: UnitState.Failed,
  reason: UnitFailureReason.ProgressDeadlineExceeded,
  message: 'cart: not converged within 600s',
  injectedRevision: '1-24-5',
  inFlight: false,
  toRestart: [],
  hasWrites: false,
  unavailableReplicas: 1,
  restarts: 0,
  crashLooping: false,
  sidecarMismatch: false,
  ...over,
});
const FRESH_AND_KEEPING_UP: JudgementBasis = { fresh: true, loopDelayMs: 5, loopDelayThresholdMs: 1000 };

describe('judging a failure', () => {
  it('Given fresh apiserver state and a loop that keeps up, the failure stands', () => {
    expect(judgeFailure(newAssessment(), FRESH_AND_KEEPING_UP)).toEqual(newAssessment());
  });

  it('Given a failure seen only in the watch cache, it is held in flight until the apiserver confirms it', () => {
    for (const reason of [
      UnitFailureReason.ProgressDeadlineExceeded,
      UnitFailureReason.CrashLoop,
      UnitFailureReason.SidecarMismatch,
    ]) {
      const held = judgeFailure(newAssessment({ reason }), { ...FRESH_AND_KEEPING_UP, fresh: false });
      expect(held).toMatchObject({ state: UnitState.Restarting, inFlight: true, hold: FailureHold.Confirm });
      expect(held.reason).toBeUndefined();
    }
  });

  it('Given a loop lagging past its threshold, a crash loop or a sidecar mismatch read fresh still fails the unit', () => {
    for (const reason of [UnitFailureReason.CrashLoop, UnitFailureReason.SidecarMismatch]) {
      const failed = newAssessment({ reason });
      expect(judgeFailure(failed, { ...FRESH_AND_KEEPING_UP, loopDelayMs: 1800 })).toEqual(failed);
    }
  });

  it('Given a loop lagging past its threshold, a deadline (a time this loop measured) fails nothing', () => {
    const held = judgeFailure(newAssessment(), { ...FRESH_AND_KEEPING_UP, loopDelayMs: 1800 });
    expect(held).toMatchObject({ state: UnitState.Restarting, inFlight: true, hold: FailureHold.Lagging });
    expect(held.message).toContain('1800ms behind (threshold 1000ms)');
  });

  it('Given a verdict that is not judged on workload state, or no failure, it passes unchanged', () => {
    const notFound = newAssessment({ reason: UnitFailureReason.NotFound });
    expect(judgeFailure(notFound, { fresh: false, loopDelayMs: 5000, loopDelayThresholdMs: 1000 })).toBe(notFound);
    const converged = newAssessment({ state: UnitState.Converged });
    expect(judgeFailure(converged, { fresh: false, loopDelayMs: 5000, loopDelayThresholdMs: 1000 })).toBe(converged);
  });
});
