// How gate verdicts are weighed, beyond what one health source measures: an advisory gate never decides, a
// silent new revision beside an erring old one is a failure, and a final gate that cannot judge is bounded.
import {
  DEFAULT_INCONCLUSIVE_POLICY,
  GateOutcome,
  GateReason,
  type GateVerdict,
  type InconclusivePolicy,
} from '@meshwave/contracts';
import type { GateRequest, SourceVerdict } from './health-source.js';
import type { MetricSamples } from './metric-samples.js';
import { pct } from './metric-verdicts.js';

/** A gate with `enforce: false` is advisory: its verdict is shown, never deciding (absent: enforced). */
export function advisoryUnless(enforce: boolean | undefined, verdict: SourceVerdict): SourceVerdict {
  return enforce === false ? { ...verdict, advisory: true } : verdict;
}

/**
 * No request reached the new revision's workloads in the window while the old revision's answered errors: the
 * new side is not "too little data" but likely down or unreachable, so the final evaluation fails.
 */
export function newRevisionSilent(request: GateRequest, s: MetricSamples, what: string): SourceVerdict | undefined {
  if (!request.final) return undefined;
  const requests = s.current.reduce((n, t) => n + t.requests, 0);
  const oldRequests = s.baseline.reduce((n, t) => n + t.requests, 0);
  const oldErrors = s.baseline.reduce((n, t) => n + t.errors, 0);
  if (requests > 0 || oldErrors <= 0) return undefined;
  return {
    outcome: GateOutcome.Failed,
    reason: GateReason.NewRevisionSilent,
    message: `${what}: no request reached the wave's ${s.current.length} workloads on the new revision in the last ${s.windowSeconds}s while the old revision answered ${Math.round(oldErrors)} errors of ${Math.round(oldRequests)} requests (${pct(oldErrors / Math.max(1, oldRequests))})`,
    failed: [],
  };
}

/** The current run of final evaluations that could not judge, in the wave's Gating phase. */
export interface InconclusiveRun {
  /** the first of the run (ISO) */
  readonly since: string;
  readonly count: number;
}

export type InconclusiveJudgement =
  /** wait for the next evaluation (at `retryAt`), keeping the run */
  | { readonly pause: false; readonly run: InconclusiveRun; readonly deadline: number; readonly reason: string }
  /** the policy's bound is reached: a person decides */
  | { readonly pause: true; readonly reason: string };

/**
 * One more final evaluation that could not judge (Inconclusive or Error): within the policy it waits, saying
 * for how long still; past `limit` evaluations in a row or `timeout` after the first, the rollout pauses.
 * A verdict held because the planner itself lags is not the gate's failing to judge, and does not count.
 */
export function judgeInconclusive(
  verdict: GateVerdict,
  previous: InconclusiveRun | undefined,
  policy: InconclusivePolicy | undefined,
  now: Date,
): InconclusiveJudgement {
  const limit = policy?.limit ?? DEFAULT_INCONCLUSIVE_POLICY.limit;
  const timeoutMs = (policy?.timeout ?? DEFAULT_INCONCLUSIVE_POLICY.timeout) * 1000;
  const counts = verdict.reason !== GateReason.JudgementHeld;
  const run: InconclusiveRun = {
    since: previous?.since ?? now.toISOString(),
    count: (previous?.count ?? 0) + (counts ? 1 : 0),
  };
  const deadline = Date.parse(run.since) + timeoutMs;
  const what = `gate ${verdict.outcome} (${verdict.reason}): ${verdict.message}`;
  if (run.count >= limit || now.getTime() >= deadline)
    return {
      pause: true,
      reason: `paused for a person: the final gate of wave ${verdict.wave} could not judge ${run.count} time${run.count === 1 ? '' : 's'} in a row since ${run.since} (gates.inconclusive: limit ${limit}, timeout ${timeoutMs / 1000}s); last: ${what}; resume to evaluate again, or roll back`,
    };
  return {
    pause: false,
    run,
    deadline,
    reason: `${what}; ${run.count} of ${limit} inconclusive evaluations, pauses for a person at ${new Date(deadline).toISOString()} at the latest`,
  };
}
