import { PlanProblemCode, type Plan, type RolloutSpec } from '@meshwave/contracts';
import { PlannerError, PlannerErrorCode } from '../errors.js';

/**
 * The error that refuses to create a rollout whose plan one of Istio's rules refuses (ADR 0028), undefined when
 * none does: a 422 whose code is CONTROL_PLANE_MISSING when a control plane is missing (nothing could move
 * there), else CONTROL_PLANE_OF_ANOTHER_MESH when `to` serves another mesh (ADR 0056), else
 * UNSUPPORTED_UPGRADE_PATH, and whose details name each refusal with its own code.
 */
export function planRefusal(plan: Plan): PlannerError | undefined {
  const refusals = plan.problems.filter((p) => p.refusal === true);
  if (refusals.length === 0) return undefined;
  const has = (code: string): boolean => refusals.some((p) => p.code === code);
  const code = has(PlanProblemCode.ControlPlaneMissing)
    ? PlannerErrorCode.ControlPlaneMissing
    : has(PlanProblemCode.ControlPlaneOfAnotherMesh)
      ? PlannerErrorCode.ControlPlaneOfAnotherMesh
      : PlannerErrorCode.UnsupportedUpgradePath;
  return new PlannerError(
    code,
    `Istio's rules refuse this rollout (${refusals.length} problem${refusals.length === 1 ? '' : 's'}): ${refusals[0]!.message}`,
    { context: { details: refusals.map((p) => ({ path: 'spec.to', message: p.message, code: p.code })) } },
  );
}

/**
 * What the creation's audit entry says of an override: the operator's reason and the unsupported paths it
 * allowed; undefined when the spec overrides nothing.
 */
export function upgradePathOverride(spec: RolloutSpec, plan: Plan): { reason: string; allowed: string[] } | undefined {
  const allow = spec.spec.allowUnsupportedUpgradePath;
  if (allow === undefined) return undefined;
  const allowed = plan.problems.filter((p) => p.code === PlanProblemCode.UnsupportedUpgradePath).map((p) => p.message);
  return { reason: allow.reason, allowed };
}
