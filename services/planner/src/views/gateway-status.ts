import { GatewayKind, RolloutPhase, type GatewayRolloutStatus } from '@meshwave/contracts';
import { firstGatewayWave } from '../core/step-waves.js';
import { gatewayShares, gatewayUnitKey, observeGateways } from '../core/gateway-waves.js';
import { UnitStatus } from '../core/unit-observations.js';
import type { Observations, RolloutRecord, RolloutState } from '../core/rollout-state.js';

/**
 * The gateway part of a rollout's status (ADR 0050): each step (pending, active, done, taken back) and each gateway
 * at the share it should have now with what its agent last reported; undefined when the plan has no gateway step.
 */
export function buildGatewayStatus(
  record: RolloutRecord,
  state: RolloutState,
  observations: Observations,
): GatewayRolloutStatus | undefined {
  const first = firstGatewayWave(record);
  if (record.plan.gatewaySteps.length === 0) return undefined;
  const steps = record.plan.gatewaySteps.map((step, i) => {
    const wave = first + i;
    const dispatched = wave < state.dispatchedWaves;
    const rolledBack = dispatched && (state.rollbackAll || state.rolledBackWaves.includes(wave));
    const active = wave === state.wave && state.phase === 'Running';
    const stepState = rolledBack ? 'rolled-back' : active ? 'active' : dispatched ? 'done' : 'pending';
    return { wave, name: step.name, percent: step.percent, state: stepState } as const;
  });
  const waves = steps.map((s) => s.wave);
  const observed = new Map(observeGateways(record, state, observations, waves).map((o) => [o.unit, o]));
  const completed = state.phase === RolloutPhase.Completed;
  const gateways = [...gatewayShares(record, state).values()].map(({ gateway, percent }) => {
    const o = observed.get(gatewayUnitKey(gateway));
    const reported = o?.fresh === true ? o.status : UnitStatus.Pending;
    // A completed rollout's last command only adds the removal of the old Deployments (gatewayCommandsOf): the
    // agent starts it as a new step (`pending` until its first pass), and until it reports on it the gateway is
    // as the last gate passed it. So in a completed rollout `pending` means "removal not begun", never "not moved".
    const removing =
      completed && percent === 100 && gateway.kind === GatewayKind.Injected && reported !== UnitStatus.Converged;
    const shown = completed && reported === UnitStatus.Pending ? UnitStatus.Converged : reported;
    const reason = o?.message ?? (removing && shown !== UnitStatus.Failed ? 'old Deployment being removed' : undefined);
    return { ...gateway, percent, state: shown, ...(reason !== undefined ? { reason } : {}) };
  });
  return { steps, gateways };
}
