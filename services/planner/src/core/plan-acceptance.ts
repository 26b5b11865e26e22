import { PlanProblemCode, type Plan, type PlanProblem, type RolloutSpec } from '@meshwave/contracts';

/** A problem of the plan as a 422 detail: the field of the rollout file it comes from, and what is wrong. */
export interface AcceptanceProblem {
  readonly path: string;
  readonly message: string;
}

/** Why a plan is refused at creation. */
export const PlanRefusal = {
  /** the deadline is not after now: no plan can meet it, `acceptInfeasible` or not */
  DeadlinePassed: 'deadline-passed',
  /** the plan misses its deadline and the file does not say `acceptInfeasible` */
  Infeasible: 'infeasible',
} as const;
export type PlanRefusal = (typeof PlanRefusal)[keyof typeof PlanRefusal];

export type PlanAcceptance =
  /** `acceptedInfeasible`: the plan misses its deadline and the file accepts it, with this reason (audited) */
  | {
      readonly ok: true;
      readonly acceptedInfeasible?: { readonly reason: string; readonly problems: readonly string[] };
    }
  | {
      readonly ok: false;
      readonly refusal: PlanRefusal;
      readonly message: string;
      readonly problems: readonly AcceptanceProblem[];
    };

/** The field of the rollout file a plan problem comes from (a wave's problem: that wave, when the name is its own). */
function pathOf(spec: RolloutSpec, problem: PlanProblem): string {
  if (problem.code === PlanProblemCode.PinAfterDeadline) return 'spec.pins';
  if (problem.code === PlanProblemCode.NoWindowBeforeDeadline) return 'spec.windows';
  const wave = problem.wave === undefined ? -1 : spec.spec.waves.findIndex((w) => w.name === problem.wave);
  return wave >= 0 ? `spec.waves[${wave}]` : 'spec.deadline';
}

/**
 * Whether a rollout may be created with this plan at `now`: pure. A deadline already past is always refused
 * (nothing could be promised); a plan that misses its deadline is refused unless the file says
 * `acceptInfeasible: { reason }`, and then accepted with that reason, for the audit.
 */
export function checkPlanAcceptance(spec: RolloutSpec, plan: Plan, now: Date): PlanAcceptance {
  const deadline = spec.spec.deadline;
  if (Date.parse(deadline) <= now.getTime())
    return {
      ok: false,
      refusal: PlanRefusal.DeadlinePassed,
      message: `the deadline ${deadline} has already passed (now ${now.toISOString()}): set a deadline in the future`,
      problems: [{ path: 'spec.deadline', message: `${deadline} is not after now (${now.toISOString()})` }],
    };
  const blocking = plan.problems.filter((p) => p.blocking);
  if (blocking.length === 0) return { ok: true };
  const accepted = spec.spec.acceptInfeasible;
  if (accepted !== undefined)
    return { ok: true, acceptedInfeasible: { reason: accepted.reason, problems: blocking.map((p) => p.code) } };
  return {
    ok: false,
    refusal: PlanRefusal.Infeasible,
    message: `the plan misses its deadline ${deadline} (estimated completion ${plan.estimatedCompletion}): fix the problems, or set \`acceptInfeasible: { reason }\` to run it anyway`,
    problems: blocking.map((p) => ({ path: pathOf(spec, p), message: `${p.code}: ${p.message}` })),
  };
}
